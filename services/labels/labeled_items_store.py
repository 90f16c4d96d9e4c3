"""Which items of a sheet hold canonical labels, and of which types (reads for browsing a sheet)."""

from __future__ import annotations

from collections.abc import Iterable

from data_access.sql.engine import SqlEngine


class LabeledItemsStore:
    def __init__(self, engine: SqlEngine, labels_table: str) -> None:
        self._engine = engine
        self._labels = labels_table

    def label_types_of(self, sheet_id: str, refs: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """item_ref → the label types it holds, for a page of items in one query."""
        wanted = sorted(set(refs))
        if not wanted:
            return {}
        rows = self._engine.query(
            f"SELECT item_ref, label_type FROM {self._labels} WHERE sheet_id = :sheet_id "
            "AND array_contains(:refs, item_ref) ORDER BY item_ref, label_type",
            {"sheet_id": sheet_id, "refs": wanted},
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["item_ref"], []).append(row["label_type"])
        return {ref: tuple(types) for ref, types in found.items()}
