"""The `training_sheets` table, with live pair counts from `qa_pairs`."""

from __future__ import annotations

import json
from typing import Any

from data_access.sql.engine import Row, SqlEngine
from services.core.domain.qa_pair import PairCounts, TrainingSheet
from services.generate.qa_pairs_store import COUNT_NAMES, PAIR_COUNTS

_COLUMNS = (
    "t.id, t.name, t.sheet_id, t.template_id, t.template_version, t.label_type, t.labeling_mode, t.status, "
    "t.generation_config, t.job_id, t.created_by, t.created_at, t.generation_completed_at, t.row_version"
)
_COUNTS = ", ".join(f"coalesce(c.{name}, 0) AS {name}" for name in COUNT_NAMES)


def _counts_subquery(pairs: str, where: str = "") -> str:
    return f"SELECT training_sheet_id, {PAIR_COUNTS} FROM {pairs} {where} GROUP BY training_sheet_id"


def _to_training_sheet(row: Row) -> TrainingSheet:
    return TrainingSheet(
        id=row["id"], name=row["name"], sheet_id=row["sheet_id"], template_id=row["template_id"],
        template_version=row["template_version"] or "", label_type=row["label_type"] or "",
        labeling_mode=row["labeling_mode"], status=row["status"],
        generation_config=json.loads(row["generation_config"] or "{}"), job_id=row["job_id"],
        created_by=row["created_by"] or "", created_at=row["created_at"],
        generation_completed_at=row["generation_completed_at"], row_version=row["row_version"],
        counts=PairCounts(**{k: int(row[k]) for k in COUNT_NAMES}),
    )


class TrainingSheetsStore:
    def __init__(self, engine: SqlEngine, table: str, pairs_table: str) -> None:
        self._engine = engine
        self._table = table
        self._pairs = pairs_table

    def _select(self, where: str, pairs_where: str = "") -> str:
        return (
            f"SELECT {_COLUMNS}, {_COUNTS} FROM {self._table} AS t "
            f"LEFT JOIN ({_counts_subquery(self._pairs, pairs_where)}) AS c ON c.training_sheet_id = t.id {where}"
        )

    def insert(self, sheet: TrainingSheet) -> None:
        self._engine.execute(
            f"INSERT INTO {self._table} (id, name, sheet_id, template_id, template_version, label_type, labeling_mode, "
            "status, generation_config, job_id, created_by, created_at, updated_at, generation_started_at, row_version) "
            "VALUES (:id, :name, :sheet_id, :template_id, :template_version, :label_type, :labeling_mode, :status, "
            ":generation_config, :job_id, :created_by, current_timestamp(), current_timestamp(), current_timestamp(), 1)",
            {
                "id": sheet.id, "name": sheet.name, "sheet_id": sheet.sheet_id, "template_id": sheet.template_id,
                "template_version": sheet.template_version, "label_type": sheet.label_type,
                "labeling_mode": sheet.labeling_mode, "status": sheet.status,
                "generation_config": json.dumps(sheet.generation_config), "job_id": sheet.job_id,
                "created_by": sheet.created_by,
            },
        )

    def get(self, training_sheet_id: str) -> TrainingSheet | None:
        # The counts of this Training Sheet's pairs only: the engine does not push the filter into the aggregate.
        row = self._engine.query_one(self._select("WHERE t.id = :id", "WHERE training_sheet_id = :id"), {"id": training_sheet_id})
        return _to_training_sheet(row) if row else None

    def list(self, sheet_id: str | None = None) -> list[TrainingSheet]:
        rows = self._engine.query(
            self._select("WHERE (:sheet_id IS NULL OR t.sheet_id = :sheet_id) ORDER BY t.created_at DESC, t.name"),
            {"sheet_id": sheet_id},
        )
        return [_to_training_sheet(r) for r in rows]

    def names(self) -> set[str]:
        return {r["name"].lower() for r in self._engine.query(f"SELECT name FROM {self._table}")}

    def generation_config(self, training_sheet_id: str) -> dict[str, Any] | None:
        """A Training Sheet's generation_config alone (no pair counts: read on every review card)."""
        row = self._engine.query_one(f"SELECT generation_config FROM {self._table} WHERE id = :id", {"id": training_sheet_id})
        return json.loads(row["generation_config"] or "{}") if row else None

    def set_generation_config(self, training_sheet_id: str, config: dict[str, Any]) -> None:
        self._engine.execute(
            f"UPDATE {self._table} SET generation_config = :config, updated_at = current_timestamp(), row_version = row_version + 1 "
            "WHERE id = :id",
            {"id": training_sheet_id, "config": json.dumps(config)},
        )

    def set_status(self, training_sheet_id: str, status: str, completed: bool = False, **counts: Any) -> None:
        """Status, and on completion the denormalised counts the PRD's schema keeps."""
        self._engine.execute(
            f"UPDATE {self._table} SET status = :status, updated_at = current_timestamp(), "
            "generation_completed_at = CASE WHEN :completed THEN current_timestamp() ELSE generation_completed_at END, "
            "total_pairs = coalesce(:total, total_pairs), unlabeled_pairs = coalesce(:unlabeled, unlabeled_pairs), "
            "labeled_pairs = coalesce(:labeled, labeled_pairs), rejected_pairs = coalesce(:rejected, rejected_pairs), "
            "flagged_pairs = coalesce(:flagged, flagged_pairs), canonical_pairs = coalesce(:canonical, canonical_pairs), "
            "row_version = row_version + 1 WHERE id = :id",
            {"id": training_sheet_id, "status": status, "completed": completed,
             **{k: counts.get(k) for k in ("total", "unlabeled", "labeled", "rejected", "flagged", "canonical")}},
        )

    def count(self) -> int:
        return int(self._engine.scalar(f"SELECT count(*) AS n FROM {self._table}") or 0)
