"""The `usage_constraint_audit` table: who changed what an item may be used for, when and why."""

from __future__ import annotations

import pandas as pd

from data_access.sql.engine import Row, SqlEngine
from services.core.domain.governance import UsageConstraints
from services.core.domain.review import ConstraintAudit

AUDIT_COLUMNS = (
    "id", "qa_pair_id", "canonical_label_id", "old_allowed_uses", "new_allowed_uses", "old_prohibited_uses",
    "new_prohibited_uses", "old_data_classification", "new_data_classification", "reason", "modified_by", "modified_at",
)
_COLUMNS = ", ".join(AUDIT_COLUMNS)


def _to_audit(row: Row) -> ConstraintAudit:
    def constraints(prefix: str) -> UsageConstraints | None:
        if row[f"{prefix}_allowed_uses"] is None and row[f"{prefix}_data_classification"] is None:
            return None
        return UsageConstraints(
            tuple(row[f"{prefix}_allowed_uses"] or ()), tuple(row[f"{prefix}_prohibited_uses"] or ()), "",
            row[f"{prefix}_data_classification"] or "",
        )

    return ConstraintAudit(
        row["id"], row["qa_pair_id"], row["canonical_label_id"], constraints("old"), constraints("new") or UsageConstraints(), row["reason"] or "",
        row["modified_by"] or "", row["modified_at"],
    )


class UsageAuditStore:
    def __init__(self, engine: SqlEngine, table: str) -> None:
        self._engine = engine
        self._table = table

    def add(self, audit: ConstraintAudit) -> None:
        old = audit.old
        self._engine.execute(
            f"INSERT INTO {self._table} ({_COLUMNS}) VALUES (:id, :qa_pair_id, :canonical_label_id, :old_allowed, "
            ":new_allowed, :old_prohibited, :new_prohibited, :old_classification, :new_classification, :reason, :user, "
            ":modified_at)",
            {
                "id": audit.id, "qa_pair_id": audit.qa_pair_id, "canonical_label_id": audit.canonical_label_id,
                "old_allowed": list(old.allowed_uses) if old else None, "new_allowed": list(audit.new.allowed_uses),
                "old_prohibited": list(old.prohibited_uses) if old else None, "new_prohibited": list(audit.new.prohibited_uses),
                "old_classification": str(old.data_classification) if old else None,
                "new_classification": str(audit.new.data_classification), "reason": audit.reason,
                "user": audit.modified_by, "modified_at": audit.modified_at,
            },
        )

    def insert_frame(self, rows: pd.DataFrame) -> int:
        """Append many audit rows at once (columns from AUDIT_COLUMNS), set-based."""
        return self._engine.insert_rows(self._table, rows[[c for c in AUDIT_COLUMNS if c in rows.columns]])

    def rows_for_labels(self, label_ids: list[str]) -> list[Row]:
        if not label_ids:
            return []
        return self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE array_contains(:ids, canonical_label_id) ORDER BY modified_at, id",
            {"ids": sorted(set(label_ids))},
        )

    def delete_for_labels(self, label_ids: list[str]) -> None:
        if label_ids:
            self._engine.execute(
                f"DELETE FROM {self._table} WHERE array_contains(:ids, canonical_label_id)", {"ids": sorted(set(label_ids))}
            )

    def for_pair(self, qa_pair_id: str) -> list[ConstraintAudit]:
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE qa_pair_id = :id ORDER BY modified_at, id", {"id": qa_pair_id}
        )
        return [_to_audit(r) for r in rows]

    def for_label(self, canonical_label_id: str) -> list[ConstraintAudit]:
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE canonical_label_id = :id ORDER BY modified_at, id",
            {"id": canonical_label_id},
        )
        return [_to_audit(r) for r in rows]

    def latest_for_pair(self, qa_pair_id: str) -> ConstraintAudit | None:
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE qa_pair_id = :id ORDER BY modified_at DESC, id DESC LIMIT 1",
            {"id": qa_pair_id},
        )
        return _to_audit(rows[0]) if rows else None
