"""The `training_exports` and `training_export_pairs` tables: written once, never updated.

A version row is inserted last, when its files are complete; its number is one more than the
highest of the same set of Training Sheets, in the same statement.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from data_access.sql.engine import Row, SqlEngine
from services.train.export_records import ExportVersion, GateCounts, Split, SplitConfig

_COLUMNS = (
    "id, version, training_sheet_ids, directory, split_config, gate_counts, train_count, validation_count, train_lines, "
    "skipped_count, train_sha256, validation_sha256, manifest_sha256, job_id, created_by, created_at"
)
RECENT_EXPORTS = 200  # the page lists these; older versions stay in the table and on the volume
PAIR_COLUMNS = ("export_id", "qa_pair_id", "training_sheet_id", "position", "split", "content_sha256", "copies")


def sheet_set_key(training_sheet_ids: list[str] | tuple[str, ...]) -> str:
    return ",".join(sorted(training_sheet_ids))


def _to_version(row: Row) -> ExportVersion:
    config = json.loads(row["split_config"] or "{}")
    copies = {c["value"]: int(c["copies"]) for c in config.get("oversample_copies", ())}
    return ExportVersion(
        id=row["id"], version=int(row["version"]), training_sheet_ids=tuple(row["training_sheet_ids"] or ()),
        directory=row["directory"], split_config=SplitConfig.from_json(config), oversample_copies=copies,
        gate_counts=GateCounts.from_json(json.loads(row["gate_counts"] or "{}")), train_count=int(row["train_count"] or 0),
        validation_count=int(row["validation_count"] or 0), train_lines=int(row["train_lines"] or 0),
        skipped_count=int(row["skipped_count"] or 0), train_sha256=row["train_sha256"] or "",
        validation_sha256=row["validation_sha256"] or "", manifest_sha256=row["manifest_sha256"] or "",
        job_id=row["job_id"], created_by=row["created_by"] or "", created_at=row["created_at"],
    )


class TrainingExportsStore:
    def __init__(self, engine: SqlEngine, exports_table: str, pairs_table: str) -> None:
        self._engine = engine
        self._exports = exports_table
        self._pairs = pairs_table

    # -- versions --------------------------------------------------------------------
    def insert_version(self, values: dict[str, Any]) -> None:
        """Records a complete export as the next version of its set of Training Sheets."""
        self._engine.execute(
            f"INSERT INTO {self._exports} (id, version, sheet_set_key, training_sheet_ids, directory, split_config, gate_counts, "
            "train_count, validation_count, train_lines, skipped_count, train_sha256, validation_sha256, manifest_sha256, job_id, "
            "created_by, created_at) "
            "SELECT :id, coalesce(max(version), 0) + 1, :sheet_set_key, :training_sheet_ids, :directory, :split_config, :gate_counts, "
            ":train_count, :validation_count, :train_lines, :skipped_count, :train_sha256, :validation_sha256, :manifest_sha256, "
            f":job_id, :created_by, current_timestamp() FROM {self._exports} WHERE sheet_set_key = :sheet_set_key",
            {**values, "sheet_set_key": sheet_set_key(values["training_sheet_ids"])},
        )

    def get(self, export_id: str) -> ExportVersion | None:
        row = self._engine.query_one(f"SELECT {_COLUMNS} FROM {self._exports} WHERE id = :id", {"id": export_id})
        return _to_version(row) if row else None

    def list(self, limit: int = RECENT_EXPORTS) -> list[ExportVersion]:
        """Newest first."""
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._exports} ORDER BY created_at DESC, version DESC LIMIT :limit", {"limit": limit}
        )
        return [_to_version(r) for r in rows]

    # -- exported pairs --------------------------------------------------------------
    def insert_pairs(self, frame: pd.DataFrame) -> int:
        return self._engine.insert_rows(self._pairs, frame[list(PAIR_COLUMNS)])

    def delete_pairs(self, export_id: str) -> None:
        """Only for an export that never became a version (cancelled, failed, resumed)."""
        self._engine.execute(f"DELETE FROM {self._pairs} WHERE export_id = :id", {"id": export_id})

    def pair_ids(self, export_id: str, split: Split) -> list[str]:
        """The exact pairs of one split, in the order their lines were written."""
        rows = self._engine.query(
            f"SELECT e.qa_pair_id FROM {self._pairs} AS e WHERE e.export_id = :id AND e.split = :split "
            "ORDER BY e.position",
            {"id": export_id, "split": split.value},
        )
        return [r["qa_pair_id"] for r in rows]

    def pair_counts(self, export_id: str) -> dict[str, int]:
        rows = self._engine.query(
            f"SELECT split, count(*) AS n FROM {self._pairs} WHERE export_id = :id GROUP BY split", {"id": export_id}
        )
        return {r["split"]: int(r["n"]) for r in rows}
