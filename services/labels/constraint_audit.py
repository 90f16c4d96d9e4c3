"""Invariant 5 for canonical labels: every change to what a label may be used for leaves an audit row
(who, when, the uses and classification before and after, and the reason given)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from services.core.domain.governance import UsageConstraints
from services.core.governance import governance_changed
from services.core.workbench import Workbench
from services.labels.usage_audit_store import UsageAuditStore


@dataclass(frozen=True)
class ConstraintChange:
    label_id: str
    before: UsageConstraints | None  # None: the label is new and its source set no rule
    after: UsageConstraints
    modified_by: str
    modified_at: datetime | None = None  # None: now
    audit_id: str | None = None  # None: a fresh id


def governance_differs(before: UsageConstraints | None, after: UsageConstraints) -> bool:
    """A change the audit must record: uses or classification (the reason alone is not one)."""
    return before is None or governance_changed(before, after)


def audit_frame(changes: Sequence[ConstraintChange]) -> pd.DataFrame:
    now = datetime.now(UTC)
    return pd.DataFrame(
        {
            "id": [c.audit_id or str(uuid.uuid4()) for c in changes],
            "canonical_label_id": [c.label_id for c in changes],
            "old_allowed_uses": [list(c.before.allowed_uses) if c.before else None for c in changes],
            "new_allowed_uses": [list(c.after.allowed_uses) for c in changes],
            "old_prohibited_uses": [list(c.before.prohibited_uses) if c.before else None for c in changes],
            "new_prohibited_uses": [list(c.after.prohibited_uses) for c in changes],
            "old_data_classification": [str(c.before.data_classification) if c.before else None for c in changes],
            "new_data_classification": [str(c.after.data_classification) for c in changes],
            "reason": [c.after.usage_reason for c in changes],
            "modified_by": [c.modified_by for c in changes],
            "modified_at": pd.to_datetime([c.modified_at or now for c in changes], utc=True),
        }
    )


@dataclass(frozen=True)
class AuditEntry:
    label_id: str
    before: str
    after: str
    reason: str
    modified_by: str
    modified_at: datetime | None


class LabelConstraintAudit:
    def __init__(self, workbench: Workbench) -> None:
        self._store = UsageAuditStore(workbench.backend.engine, workbench.table("usage_constraint_audit"))

    def record(self, changes: Sequence[ConstraintChange]) -> int:
        """Writes the changes that alter governance; returns how many rows were written."""
        kept = [c for c in changes if governance_differs(c.before, c.after)]
        return self._store.insert_frame(audit_frame(kept)) if kept else 0

    def for_label(self, label_id: str) -> list[AuditEntry]:
        return [
            AuditEntry(
                r["canonical_label_id"],
                _describe(r["old_allowed_uses"], r["old_prohibited_uses"], r["old_data_classification"]),
                _describe(r["new_allowed_uses"], r["new_prohibited_uses"], r["new_data_classification"]),
                r["reason"] or "", r["modified_by"] or "", r["modified_at"],
            )
            for r in self._store.rows_for_labels([label_id])
        ]


def _describe(allowed: Sequence[str] | None, prohibited: Sequence[str] | None, classification: str | None) -> str:
    if allowed is None and classification is None:
        return "(none)"
    text = f"allowed: {', '.join(allowed or ()) or '-'}; prohibited: {', '.join(prohibited or ()) or '-'}"
    return f"{text}; {classification}" if classification else text
