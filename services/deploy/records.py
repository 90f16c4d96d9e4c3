"""The records DEPLOY works with: deployable model versions, deployments, chat requests and
replies, guardrail results and inference log rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from data_access.serving.served_model import ChatTurn as ChatTurn  # for the API and pages: a message of a chat
from services.core.pii import PiiFinding


class Target(StrEnum):
    LOCAL = "local"  # served in this process at /api/v1/serving-endpoints/<name>/...
    EDGE = "edge"  # an archive to carry to an offline machine; its endpoint_name is the archive's file name
    DATABRICKS = "databricks"  # a Model Serving endpoint in the workspace


class DeploymentStatus(StrEnum):
    READY = "ready"
    FAILED = "failed"  # the model did not load; the endpoint serves what it served before, if anything
    REPLACED = "replaced"  # the endpoint now serves a later deployment


class PiiAction(StrEnum):
    """What an endpoint does with an answer in which the PII guardrail finds personal data."""

    FLAG = "flag"  # returned to the caller, flagged in its guardrail results and the log
    BLOCK = "block"  # withheld: the caller gets a refusal, the log keeps the answer masked


class RequestSource(StrEnum):
    API = "api"
    PLAYGROUND = "playground"


@dataclass(frozen=True)
class DeployableModel:
    """A registered model version with what a person picks it by: its Training Sheet, when it was
    trained, its base model and its evaluation (beside the base model's, on the same pairs)."""

    model_id: str
    model_name: str
    model_version: str
    lineage_id: str
    training_sheet_id: str
    training_sheet_name: str | None
    template_id: str | None
    trained_at: datetime | None
    base_model: str | None
    mlflow_run_id: str | None
    accuracy: float | None
    f1_score: float | None
    valid_output_rate: float | None
    evaluation_pair_count: int | None
    base_accuracy: float | None


@dataclass(frozen=True)
class Deployment:
    id: str
    endpoint_name: str
    model_name: str
    model_version: str
    model_id: str
    target: str  # a Target here; other deployers (Databricks serving, edge bundles) write their own
    status: DeploymentStatus
    lineage_id: str | None
    training_sheet_id: str | None
    template_id: str | None
    max_tokens: int
    schema_guardrail: bool
    mlflow_run_id: str | None
    created_by: str
    created_at: datetime | None
    error: str | None = None
    pii_action: PiiAction = PiiAction.FLAG
    low_confidence_threshold: float | None = None  # below it an answer enters IMPROVE's queue by itself


@dataclass(frozen=True)
class SourceItem:
    """The sheet item a request was rendered from, so MONITOR can show it and find its label."""

    sheet_id: str
    item_ref: str


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[ChatTurn, ...]
    max_tokens: int | None = None  # None: the endpoint's limit
    source_item: SourceItem | None = None  # not sent to the model; the log records it


@dataclass(frozen=True)
class GuardrailResult:
    name: str  # output_schema, max_tokens, pii
    passed: bool
    detail: str = ""
    findings: tuple[PiiFinding, ...] = ()  # the PII guardrail's, masked

    def as_json(self) -> dict[str, object]:
        found = {"findings": [f.as_json() for f in self.findings]} if self.findings else {}
        return {"name": self.name, "passed": self.passed, "detail": self.detail, **found}


@dataclass(frozen=True)
class ChatReply:
    text: str
    endpoint_name: str
    model_name: str
    model_version: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    token_limit: int  # the most tokens this answer could have had
    guardrails: tuple[GuardrailResult, ...]
    request_id: str
    trace_id: str
    created_at: datetime

    @property
    def guardrails_passed(self) -> bool:
        return all(g.passed for g in self.guardrails)

    @property
    def hit_token_limit(self) -> bool:
        return self.completion_tokens is not None and self.completion_tokens >= self.token_limit

    @property
    def schema_result(self) -> GuardrailResult | None:
        return next((g for g in self.guardrails if g.name == "output_schema"), None)

    @property
    def pii_result(self) -> GuardrailResult | None:
        return next((g for g in self.guardrails if g.name == "pii"), None)


@dataclass(frozen=True)
class InferenceRecord:
    """One request to a local endpoint, as the inference log keeps it."""

    id: str
    deployment_id: str | None
    endpoint_name: str
    model_name: str | None
    model_version: str | None
    request_id: str
    trace_id: str
    request: str  # JSON of the request as received
    response: str | None  # JSON of the answer, None when there was none
    prediction: str | None
    latency_ms: float
    status_code: int
    input_tokens: int | None
    output_tokens: int | None
    guardrails: str  # JSON list of {name, passed, detail}
    guardrails_passed: bool
    error: str | None
    requester: str
    source: str
    replayed: bool
    created_at: datetime
    few_shot_example_ids: list[str] | None = None  # Example Store examples put into the prompt (dynamic few-shot)
    sheet_id: str | None = None  # the sheet item the request came from, when it came from one
    item_ref: str | None = None
