"""An endpoint's guardrails: a token limit on every request, the answer checked against the
output schema of the template the model was trained with, and the answer searched for personal
data. A refused request never reaches the model; an answer that misses the schema is still
returned, flagged; an answer with personal data is flagged, or withheld where the endpoint
blocks it; all are logged."""

from __future__ import annotations

from collections.abc import Sequence

from services.core.domain.template import SchemaField
from services.core.pii import PiiFinding, find_pii
from services.deploy.records import ChatRequest, GuardrailResult
from services.deploy.serving_errors import GuardrailRefusal
from services.templates.output_parsing import parse_output

MAX_TOKENS = "max_tokens"
OUTPUT_SCHEMA = "output_schema"
PII = "pii"
# The most an endpoint may be set to answer: a CPU model at a few tokens a second would hold its
# queue for minutes past this.
MAX_TOKENS_CEILING = 4096


def tokens_for(request: ChatRequest, limit: int) -> tuple[int, GuardrailResult]:
    """The tokens this request may use; GuardrailRefusal (carrying its result) past the limit."""
    if request.max_tokens is None:
        return limit, GuardrailResult(MAX_TOKENS, True, f"the endpoint's limit of {limit}")
    if request.max_tokens < 1:
        raise GuardrailRefusal("max_tokens must be at least 1.", field=MAX_TOKENS)
    if request.max_tokens > limit:
        raise GuardrailRefusal(f"max_tokens {request.max_tokens} is above this endpoint's limit of {limit}.", field=MAX_TOKENS)
    return request.max_tokens, GuardrailResult(MAX_TOKENS, True, f"{request.max_tokens} of {limit}")


def refused(error: GuardrailRefusal) -> GuardrailResult:
    return GuardrailResult(error.field or MAX_TOKENS, False, str(error))


def schema_check(answer: str, schema: Sequence[SchemaField]) -> GuardrailResult:
    parsed = parse_output(answer, schema)
    if parsed.ok:
        return GuardrailResult(OUTPUT_SCHEMA, True, "matches the output schema")
    return GuardrailResult(OUTPUT_SCHEMA, False, " ".join(parsed.errors))


def pii_check(answer: str) -> GuardrailResult:
    """Passed when the answer holds no personal data; else each finding's kind, span and masked form."""
    findings = tuple(find_pii(answer))
    if not findings:
        return GuardrailResult(PII, True, "no personal data found")
    return GuardrailResult(PII, False, f"personal data in the answer: {described(findings)}", findings)


def described(findings: Sequence[PiiFinding]) -> str:
    return "; ".join(f"{f.kind.value} at {f.start}-{f.end} ({f.masked})" for f in findings)
