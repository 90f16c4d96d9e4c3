"""The `usage_constraint_audit` table: who changed what an item may be used for, when, and why."""

from __future__ import annotations

import pandas as pd

from data_access.sql.engine import Row, SqlEngine

AUDIT_COLUMNS = (
    "id", "qa_pair_id", "canonical_label_id", "old_allowed_uses", "new_allowed_uses", "old_prohibited_uses",
    "new_prohibited_uses", "old_data_classification", "new_data_classification", "reason", "modified_by", "modified_at",
)


class ConstraintAuditStore:
    def __init__(self, engine: SqlEngine, table: str) -> None:
        self._engine = engine
        self._table = table

    def insert(self, rows: pd.DataFrame) -> int:
        """Append audit rows (columns: AUDIT_COLUMNS), set-based."""
        return self._engine.insert_rows(self._table, rows[[c for c in AUDIT_COLUMNS if c in rows.columns]])

    def for_labels(self, label_ids: list[str]) -> list[Row]:
        if not label_ids:
            return []
        return self._engine.query(
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {self._table} WHERE array_contains(:ids, canonical_label_id) "
            "ORDER BY modified_at, id",
            {"ids": sorted(set(label_ids))},
        )

    def delete_for_labels(self, label_ids: list[str]) -> None:
        if label_ids:
            self._engine.execute(f"DELETE FROM {self._table} WHERE array_contains(:ids, canonical_label_id)", {"ids": sorted(set(label_ids))})
