"""The `qa_pairs` table: bulk inserts for generation, reads for review."""

from __future__ import annotations

from typing import Any

import pandas as pd

from data_access.sql.engine import Row, SqlEngine
from services.domain.governance import UsageConstraints
from services.domain.qa_pair import QaPair, messages_from_json

PAIR_COLUMNS = (
    "id, training_sheet_id, sheet_id, item_ref, ordinal, label_type, messages, original_response, media_refs, "
    "canonical_label_id, status, labeling_mode, allowed_uses, prohibited_uses, usage_reason, data_classification, "
    "ai_confidence, quality_score, generation_error, reviewed_by, reviewed_at, review_notes, updated_at, row_version"
)
# Columns generation writes; the order of a generated frame.
INSERT_COLUMNS = (
    "id", "training_sheet_id", "sheet_id", "item_ref", "ordinal", "label_type", "messages", "original_response",
    "media_refs", "canonical_label_id", "status", "labeling_mode", "allowed_uses", "prohibited_uses", "usage_reason",
    "data_classification", "ai_confidence", "generation_error", "prompt_tokens", "completion_tokens", "latency_ms",
    "created_at", "updated_at", "row_version",
)


def to_pair(row: Row) -> QaPair:
    return QaPair(
        id=row["id"], training_sheet_id=row["training_sheet_id"], sheet_id=row["sheet_id"], item_ref=row["item_ref"],
        ordinal=row["ordinal"], label_type=row["label_type"] or "", messages=messages_from_json(row["messages"]),
        status=row["status"], labeling_mode=row["labeling_mode"],
        constraints=UsageConstraints(
            tuple(row["allowed_uses"] or ()), tuple(row["prohibited_uses"] or ()), row["usage_reason"] or "",
            row["data_classification"] or "internal",
        ),
        original_response=row["original_response"], media_refs=tuple(row["media_refs"] or ()),
        canonical_label_id=row["canonical_label_id"], ai_confidence=row["ai_confidence"],
        quality_score=row["quality_score"], generation_error=row["generation_error"], reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"], review_notes=row["review_notes"], updated_at=row["updated_at"],
        row_version=row["row_version"],
    )


class QaPairsStore:
    def __init__(self, engine: SqlEngine, table: str) -> None:
        self._engine = engine
        self.table = table

    def insert_frame(self, frame: pd.DataFrame) -> int:
        return self._engine.insert_rows(self.table, frame[list(INSERT_COLUMNS)])

    def existing_refs(self, training_sheet_id: str) -> set[str]:
        rows = self._engine.query(
            f"SELECT item_ref FROM {self.table} WHERE training_sheet_id = :id", {"id": training_sheet_id}
        )
        return {r["item_ref"] for r in rows}

    def get(self, pair_id: str) -> QaPair | None:
        row = self._engine.query_one(f"SELECT {PAIR_COLUMNS} FROM {self.table} WHERE id = :id", {"id": pair_id})
        return to_pair(row) if row else None

    def first(self, training_sheet_id: str, limit: int) -> list[QaPair]:
        rows = self._engine.query(
            f"SELECT {PAIR_COLUMNS} FROM {self.table} WHERE training_sheet_id = :id ORDER BY ordinal LIMIT :n",
            {"id": training_sheet_id, "n": limit},
        )
        return [to_pair(r) for r in rows]

    def status_counts(self, training_sheet_id: str) -> dict[str, Any]:
        row = self._engine.query_one(
            "SELECT count(*) AS total, count(*) FILTER (WHERE status = 'unlabeled') AS unlabeled, "
            "count(*) FILTER (WHERE status = 'labeled') AS labeled, count(*) FILTER (WHERE status = 'rejected') AS rejected, "
            "count(*) FILTER (WHERE status = 'flagged') AS flagged, "
            "count(*) FILTER (WHERE labeling_mode = 'canonical') AS canonical "
            f"FROM {self.table} WHERE training_sheet_id = :id",
            {"id": training_sheet_id},
        ) or {}
        return {k: int(v or 0) for k, v in row.items()}

