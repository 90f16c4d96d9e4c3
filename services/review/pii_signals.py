"""The PII signal of a pair: personal data in its prompt or response, with what was found where.

Locally the rules of services/core/pii.py scan each stale pair (names, dates of birth, phones,
e-mail addresses, SSNs, member and insurance ids, checksum-validated NPIs). On Databricks one
MERGE runs `ai_mask` over every stale pair of the sheet in the warehouse. Either way a finding is
a signal: it proposes tightening the pair's governance and decides nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from services.core.domain.signals import PairSignal, SignalKind, content_hash, last_content, readable_messages
from services.core.pii import PiiFinding, PiiKind, find_pii

RULES_SOURCE = "rules"
AI_MASK_SOURCE = "ai_mask"

_KIND_WORDS = {
    PiiKind.EMAIL: ("e-mail address", "e-mail addresses"),
    PiiKind.PHONE: ("phone number", "phone numbers"),
    PiiKind.SSN: ("SSN", "SSNs"),
    PiiKind.PAYMENT_CARD: ("payment card number", "payment card numbers"),
    PiiKind.IBAN: ("IBAN", "IBANs"),
    PiiKind.IPV4: ("IP address", "IP addresses"),
    PiiKind.DATE_OF_BIRTH: ("date of birth", "dates of birth"),
    PiiKind.PERSON_NAME: ("person's name", "people's names"),
    PiiKind.MEMBER_ID: ("insurance or member id", "insurance or member ids"),
    PiiKind.NPI: ("NPI", "NPIs"),
}

# The entity types `ai_mask` is asked to mask: the kinds the local rules find, in its words.
AI_MASK_LABELS = (
    "person", "date of birth", "phone", "email", "ssn", "insurance id", "member id", "npi", "credit card", "iban", "ip address",
)


def _counted(findings: list[PiiFinding]) -> str:
    counts = Counter(f.kind for f in findings)
    return ", ".join(f"{n} {_KIND_WORDS[k][0 if n == 1 else 1]}" for k, n in counts.items())


def pii_signal(pair_id: str, training_sheet_id: str, messages_json: str | None, now: datetime, pair_version: int | None = None) -> PairSignal:
    """The rules' PII signal for a pair's messages as stored: the prompt the item gave (the last
    user message; the template's system message and examples are the same for every pair) and
    the response. Details keep each finding's kind and masked value, never the value itself."""
    messages = readable_messages(messages_json)
    if messages is None:  # fails closed: nobody can tell it holds no personal data
        return PairSignal(
            pair_id, training_sheet_id, SignalKind.PII.value, content_hash(messages_json), True,
            "The pair's messages are not readable chat JSON, so they could not be scanned for personal data.",
            {}, None, None, RULES_SOURCE, now, pair_version,
        )
    prompt, response = last_content(messages, "user"), last_content(messages, "assistant")
    places = {"prompt": find_pii(prompt), "response": find_pii(response)}
    found = {place: findings for place, findings in places.items() if findings}
    reason = "; ".join(f"in the {place}: {_counted(findings)}" for place, findings in found.items())
    return PairSignal(
        pair_id, training_sheet_id, SignalKind.PII.value, content_hash(messages_json), bool(found),
        f"Personal data {reason}." if found else "No personal data found by the rules.",
        {place: [{"kind": f.kind.value, "masked": f.masked} for f in findings] for place, findings in found.items()},
        float(sum(len(f) for f in found.values())), None, RULES_SOURCE, now, pair_version,
    )


def warehouse_pii_merge(signals_table: str, pairs_table: str, one_pair: bool = False) -> str:
    """One statement: `ai_mask` over the messages of every pair of `:training_sheet_id` (or only
    `:pair_id`) whose PII signal is missing or stale, merged into pair_signals. Bind `:labels`
    to AI_MASK_LABELS."""
    one = " AND p.id = :pair_id" if one_pair else ""
    hashed = "sha2(coalesce(p.messages, ''), 256)"
    masked_spans = "CAST((length(m.masked) - length(replace(m.masked, '[MASKED]', ''))) / 8 AS INT)"
    return (
        f"MERGE INTO {signals_table} AS t USING (SELECT p.id AS pair_id, p.training_sheet_id, p.row_version, {hashed} AS content_hash, "
        "coalesce(p.messages, '') AS original, ai_mask(coalesce(p.messages, ''), :labels) AS masked "
        f"FROM {pairs_table} AS p WHERE p.training_sheet_id = :training_sheet_id{one} AND NOT EXISTS (SELECT 1 FROM {signals_table} AS s "
        f"WHERE s.pair_id = p.id AND s.kind = 'pii' AND (s.pair_version = p.row_version OR s.content_hash = {hashed}))) AS m "
        "ON t.pair_id = m.pair_id AND t.kind = 'pii' "
        "WHEN MATCHED THEN UPDATE SET content_hash = m.content_hash, pair_version = m.row_version, flagged = m.masked <> m.original, "
        f"score = {masked_spans}, reason = CASE WHEN m.masked <> m.original THEN concat('Personal data masked by ai_mask: ', "
        f"CAST({masked_spans} AS STRING), ' span(s) in the prompt or response.') ELSE 'No personal data found by ai_mask.' END, "
        "details = NULL, group_id = NULL, source = :source, computed_at = :now "
        "WHEN NOT MATCHED THEN INSERT (pair_id, training_sheet_id, kind, content_hash, pair_version, flagged, score, reason, details, "
        "group_id, source, computed_at) VALUES (m.pair_id, m.training_sheet_id, 'pii', m.content_hash, m.row_version, m.masked <> m.original, "
        f"{masked_spans}, CASE WHEN m.masked <> m.original THEN concat('Personal data masked by ai_mask: ', "
        f"CAST({masked_spans} AS STRING), ' span(s) in the prompt or response.') ELSE 'No personal data found by ai_mask.' END, "
        "NULL, NULL, :source, :now)"
    )
