"""The `sheets` table."""

from __future__ import annotations

from data_access.sql.engine import Row, SqlEngine
from services.core.domain.sheet import Sheet, SheetDraft, sources_from_json, sources_to_json

_COLUMNS = (
    "id, name, description, primary_table, item_ref_column, secondary_sources, join_keys, "
    "filter_condition, sample_size, row_count, created_by, created_at, updated_by, updated_at, row_version"
)


def _to_sheet(row: Row) -> Sheet:
    return Sheet(
        name=row["name"],
        primary_table=row["primary_table"],
        item_ref_column=row["item_ref_column"],
        description=row["description"] or "",
        secondary_sources=sources_from_json(row["secondary_sources"]),
        filter_condition=row["filter_condition"],
        sample_size=row["sample_size"],
        id=row["id"],
        row_count=row["row_count"],
        created_by=row["created_by"] or "",
        created_at=row["created_at"],
        updated_by=row["updated_by"] or "",
        updated_at=row["updated_at"],
        row_version=row["row_version"],
    )


def _draft_params(draft: SheetDraft) -> dict[str, object]:
    return {
        "name": draft.name,
        "description": draft.description,
        "primary_table": draft.primary_table,
        "item_ref_column": draft.item_ref_column,
        "secondary_sources": sources_to_json(draft.secondary_sources),
        "join_keys": list(draft.join_keys),
        "filter_condition": draft.filter_condition,
        "sample_size": draft.sample_size,
    }


class SheetsStore:
    def __init__(self, engine: SqlEngine, table: str) -> None:
        self._engine = engine
        self._table = table

    def list(self) -> list[Sheet]:
        rows = self._engine.query(f"SELECT {_COLUMNS} FROM {self._table} ORDER BY lower(name), id")
        return [_to_sheet(r) for r in rows]

    def get(self, sheet_id: str) -> Sheet | None:
        row = self._engine.query_one(f"SELECT {_COLUMNS} FROM {self._table} WHERE id = :id", {"id": sheet_id})
        return _to_sheet(row) if row else None

    def name_taken(self, name: str, except_id: str | None = None) -> bool:
        count = self._engine.scalar(
            f"SELECT count(*) AS n FROM {self._table} WHERE lower(name) = lower(:name) AND id <> :except_id",
            {"name": name, "except_id": except_id or ""},
        )
        return bool(count)

    def insert(self, sheet_id: str, draft: SheetDraft, row_count: int, user: str) -> None:
        self._engine.execute(
            f"INSERT INTO {self._table} ({_COLUMNS}) VALUES (:id, :name, :description, :primary_table, "
            ":item_ref_column, :secondary_sources, :join_keys, :filter_condition, :sample_size, :row_count, "
            ":user, current_timestamp(), :user, current_timestamp(), 1)",
            {"id": sheet_id, "row_count": row_count, "user": user, **_draft_params(draft)},
        )

    def update(self, sheet_id: str, draft: SheetDraft, row_count: int, user: str, read_version: int) -> bool:
        """Writes only if the row still has the version the editor read; returns whether it did."""
        changed = self._engine.execute(
            f"UPDATE {self._table} SET name = :name, description = :description, primary_table = :primary_table, "
            "item_ref_column = :item_ref_column, secondary_sources = :secondary_sources, join_keys = :join_keys, "
            "filter_condition = :filter_condition, sample_size = :sample_size, row_count = :row_count, "
            "updated_by = :user, updated_at = current_timestamp(), row_version = row_version + 1 "
            "WHERE id = :id AND row_version = :read_version",
            {"id": sheet_id, "row_count": row_count, "user": user, "read_version": read_version, **_draft_params(draft)},
        )
        return changed == 1

    def set_row_count(self, sheet_id: str, row_count: int) -> None:
        """The item count is derived from the data, not edited: no version bump, no stale-write check."""
        self._engine.execute(f"UPDATE {self._table} SET row_count = :row_count WHERE id = :id", {"id": sheet_id, "row_count": row_count})

    def delete(self, sheet_id: str) -> None:
        self._engine.execute(f"DELETE FROM {self._table} WHERE id = :id", {"id": sheet_id})

    def count(self) -> int:
        return int(self._engine.scalar(f"SELECT count(*) AS n FROM {self._table}") or 0)
