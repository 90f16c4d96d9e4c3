"""The `canonical_labels` and `canonical_label_versions` tables.

One row per (sheet_id, item_ref, label_type), its id derived from that key: a label is created
by a MERGE on it (so a label that exists already is left alone) and changed only while the row
still has the version the writer read, and every applied write adds the new version to the
history, so any label can be shown as of a version.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from data_access.sql.engine import Row, SqlEngine
from services.core.domain.canonical_label import CanonicalLabel, LabelAuthor, LabelContent, LabelKey, LabelVersion
from services.core.domain.governance import UsageConstraints

_LABEL_COLUMNS = (
    "id, sheet_id, item_ref, label_type, label_data, confidence, notes, allowed_uses, prohibited_uses, "
    "usage_reason, data_classification, labeled_by, labeled_at, last_modified_by, last_modified_at, version"
)
# One text key per distinct governance (uses are fixed words; the separator is a control character).
_CONSTRAINT_SET = (
    "concat_ws(:sep, array_join(coalesce(allowed_uses, array()), ','), array_join(coalesce(prohibited_uses, array()), ','), "
    "coalesce(usage_reason, ''), coalesce(data_classification, ''))"
)
_VERSION_COLUMNS = (
    "canonical_label_id, version, label_data, confidence, notes, allowed_uses, prohibited_uses, usage_reason, "
    "data_classification, change_kind, source_qa_pair_id, modified_by, modified_at"
)


# A new label: inserted only when no row holds the key's id (the id is derived from the key, so
# this is the one-label-per-key rule). The NOT EXISTS looks the id up by its primary key; a MERGE
# did the same work at about twice the cost and a long tail (p95 3× its median) on DuckDB, and on
# Delta neither form conflicts with a concurrent insert under WriteSerializable.
_CREATE = (
    "INSERT INTO {labels} (id, sheet_id, item_ref, label_type, label_data, confidence, notes, allowed_uses, "
    "prohibited_uses, usage_reason, data_classification, labeled_by, labeled_at, last_modified_by, last_modified_at, "
    "version, created_at) SELECT :id, :sheet_id, :item_ref, :label_type, :label_data, :confidence, :notes, "
    ":allowed_uses, :prohibited_uses, :usage_reason, :data_classification, :user, current_timestamp(), :user, "
    "current_timestamp(), 1, current_timestamp() WHERE NOT EXISTS (SELECT 1 FROM {labels} AS c WHERE c.id = :id)"
)
# A change: the version check is a scalar subquery on the id, so DuckDB looks the row up by its
# primary key (`AND version = :v` would make it scan the table; see services/generate/qa_pairs_store.py).
_UPDATE = (
    "UPDATE {labels} SET label_data = :label_data, confidence = :confidence, notes = :notes, "
    "allowed_uses = :allowed_uses, prohibited_uses = :prohibited_uses, usage_reason = :usage_reason, "
    "data_classification = :data_classification, last_modified_by = :user, last_modified_at = current_timestamp(), "
    "version = version + 1 WHERE id = :id AND :read_version = (SELECT c.version FROM {labels} AS c WHERE c.id = :id)"
)


def _content(row: Row) -> LabelContent:
    return LabelContent(
        label_data=json.loads(row["label_data"] or "{}"),
        confidence=row["confidence"] or "high",
        notes=row["notes"] or "",
        constraints=UsageConstraints(
            tuple(row["allowed_uses"] or ()), tuple(row["prohibited_uses"] or ()), row["usage_reason"] or "", row["data_classification"] or "internal"
        ),
    )


def to_label(row: Row) -> CanonicalLabel:
    return CanonicalLabel(
        id=row["id"],
        key=LabelKey(row["sheet_id"], row["item_ref"], row["label_type"]),
        content=_content(row),
        version=row["version"],
        labeled_by=row["labeled_by"] or "",
        labeled_at=row["labeled_at"],
        last_modified_by=row["last_modified_by"] or "",
        last_modified_at=row["last_modified_at"],
    )


def _to_version(row: Row) -> LabelVersion:
    return LabelVersion(
        row["canonical_label_id"], row["version"], _content(row), row["change_kind"] or "", row["source_qa_pair_id"],
        row["modified_by"] or "", row["modified_at"],
    )


def content_params(content: LabelContent) -> dict[str, Any]:
    c = content.constraints
    return {
        "label_data": json.dumps(content.label_data, ensure_ascii=False),
        "confidence": content.confidence,
        "notes": content.notes,
        "allowed_uses": list(c.allowed_uses),
        "prohibited_uses": list(c.prohibited_uses),
        "usage_reason": c.usage_reason,
        "data_classification": str(c.data_classification),
    }


class CanonicalLabelsStore:
    def __init__(self, engine: SqlEngine, labels_table: str, versions_table: str) -> None:
        self._engine = engine
        self._labels = labels_table
        self._versions = versions_table

    # -- writes ----------------------------------------------------------------------
    def write(self, key: LabelKey, content: LabelContent, read_version: int, user: str) -> bool:
        """Create (read_version 0) or update (read_version = current) one label; False if stale.

        A label's id is its key's (LabelKey.label_id, whoever writes it), so both statements find
        the row by primary key, which DuckDB looks up in its index: a MERGE matching on the key's
        three columns scans every label, and one carrying both an UPDATE and an INSERT branch
        costs about twice an INSERT. Creating stays a MERGE (invariant 1: the warehouse enforces
        no UNIQUE, and a MERGE conflicts with a concurrent one where an INSERT would not); an
        UPDATE never adds a row, so a change is one, checked against the version read.
        """
        params = {
            "id": key.label_id, "sheet_id": key.sheet_id, "item_ref": key.item_ref, "label_type": key.label_type,
            "user": user, **content_params(content),
        }
        if read_version == 0:
            return self._engine.execute(_CREATE.format(labels=self._labels), params) == 1
        return self._engine.execute(_UPDATE.format(labels=self._labels), {**params, "read_version": read_version}) == 1

    def add_version(self, key: LabelKey, version: int, content: LabelContent, change_kind: str, user: str, source_qa_pair_id: str | None) -> None:
        self._engine.execute(
            f"INSERT INTO {self._versions} (id, canonical_label_id, version, sheet_id, item_ref, label_type, label_data, "
            "confidence, notes, allowed_uses, prohibited_uses, usage_reason, data_classification, change_kind, "
            "source_qa_pair_id, modified_by, modified_at) VALUES (:id, :label_id, :version, :sheet_id, :item_ref, "
            ":label_type, :label_data, :confidence, :notes, :allowed_uses, :prohibited_uses, :usage_reason, "
            ":data_classification, :change_kind, :source_qa_pair_id, :user, current_timestamp())",
            {
                "id": str(uuid.uuid4()), "label_id": key.label_id, "version": version, "sheet_id": key.sheet_id,
                "item_ref": key.item_ref, "label_type": key.label_type, "change_kind": change_kind,
                "source_qa_pair_id": source_qa_pair_id, "user": user, **content_params(content),
            },
        )

    # -- reads -----------------------------------------------------------------------
    def get(self, label_id: str) -> CanonicalLabel | None:
        row = self._engine.query_one(f"SELECT {_LABEL_COLUMNS} FROM {self._labels} WHERE id = :id", {"id": label_id})
        return to_label(row) if row else None

    def authors(self, label_ids: list[str]) -> list[LabelAuthor]:
        """Who last changed each of these labels (a page's worth: the caller bounds the list)."""
        if not label_ids:
            return []
        rows = self._engine.query(
            f"SELECT id, last_modified_by, last_modified_at, version FROM {self._labels} WHERE array_contains(:ids, id)",
            {"ids": list(label_ids)},
        )
        return [LabelAuthor(r["id"], r["last_modified_by"] or "", r["last_modified_at"], int(r["version"])) for r in rows]

    def for_item(self, sheet_id: str, item_ref: str) -> list[CanonicalLabel]:
        rows = self._engine.query(
            f"SELECT {_LABEL_COLUMNS} FROM {self._labels} WHERE sheet_id = :sheet_id AND item_ref = :item_ref ORDER BY label_type",
            {"sheet_id": sheet_id, "item_ref": item_ref},
        )
        return [to_label(r) for r in rows]

    def for_sheet(self, sheet_id: str, label_type: str | None = None) -> list[CanonicalLabel]:
        """All labels of a sheet (and label type): one query, for set-based reuse."""
        rows = self._engine.query(
            f"SELECT {_LABEL_COLUMNS} FROM {self._labels} WHERE sheet_id = :sheet_id "
            "AND (:label_type IS NULL OR label_type = :label_type) ORDER BY item_ref, label_type",
            {"sheet_id": sheet_id, "label_type": label_type},
        )
        return [to_label(r) for r in rows]

    def reusable(self, sheet_id: str, label_type: str) -> tuple[list[Row], list[Row]]:
        """Just what generation copies onto a pair, for every label of a sheet and label type:
        (item_ref, id, label_data, constraint_set) per label, and each distinct constraint set
        once. Labels share a handful of constraint sets, and turning array columns into lists
        for tens of thousands of rows would cost more than the rest of the lookup."""
        params = {"sheet_id": sheet_id, "label_type": label_type, "sep": "\x1f"}
        where = "WHERE sheet_id = :sheet_id AND label_type = :label_type"
        labels = self._engine.query(f"SELECT item_ref, id, label_data, {_CONSTRAINT_SET} AS constraint_set FROM {self._labels} {where}", params)
        sets = self._engine.query(
            f"SELECT DISTINCT {_CONSTRAINT_SET} AS constraint_set, allowed_uses, prohibited_uses, usage_reason, "
            f"data_classification FROM {self._labels} {where}",
            params,
        )
        return labels, sets

    def labeled_refs(self, sheet_id: str, label_type: str) -> set[str]:
        rows = self._engine.query(
            f"SELECT item_ref FROM {self._labels} WHERE sheet_id = :sheet_id AND label_type = :label_type",
            {"sheet_id": sheet_id, "label_type": label_type},
        )
        return {r["item_ref"] for r in rows}

    def count(self, sheet_id: str | None = None, label_type: str | None = None) -> int:
        return int(
            self._engine.scalar(
                f"SELECT count(*) AS n FROM {self._labels} WHERE (:sheet_id IS NULL OR sheet_id = :sheet_id) "
                "AND (:label_type IS NULL OR label_type = :label_type)",
                {"sheet_id": sheet_id, "label_type": label_type},
            )
            or 0
        )

    def label_types(self, sheet_id: str) -> dict[str, int]:
        rows = self._engine.query(
            f"SELECT label_type, count(*) AS n FROM {self._labels} WHERE sheet_id = :sheet_id GROUP BY label_type ORDER BY label_type",
            {"sheet_id": sheet_id},
        )
        return {r["label_type"]: int(r["n"]) for r in rows}

    def versions(self, label_id: str) -> list[LabelVersion]:
        rows = self._engine.query(
            f"SELECT {_VERSION_COLUMNS} FROM {self._versions} WHERE canonical_label_id = :id ORDER BY version",
            {"id": label_id},
        )
        return [_to_version(r) for r in rows]
