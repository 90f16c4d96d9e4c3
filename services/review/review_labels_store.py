"""Canonical-label writes that come from reviewing pairs and are not one label at a time:
a bulk approval (set-based, over a staged list of pairs), and taking back a label that an
approval created when that approval is undone.

A bulk approval stages its pairs as parallel array parameters (pair id, label id, the
row_version read, the label data): label ids are uuid5 of the label's key, which SQL on
Databricks cannot compute, so Python computes them and `posexplode` turns the arrays back
into rows. Each array is bounded by the caller (BULK_BATCH in services/review/bulk.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from data_access.sql.engine import Row, SqlEngine
from services.core.domain.canonical_label import ChangeKind

_STAGED = (
    "(SELECT col AS pair_id, element_at(:label_ids, pos + 1) AS label_id, "
    "element_at(:read_versions, pos + 1) AS read_version, element_at(:label_data, pos + 1) AS label_data "
    "FROM (SELECT posexplode(:pair_ids)) AS exploded)"
)


def staged_params(pair_ids: list[str], label_ids: list[str], read_versions: list[int], label_data: list[str]) -> dict[str, Any]:
    return {"pair_ids": pair_ids, "label_ids": label_ids, "read_versions": read_versions, "label_data": label_data}


class ReviewLabelsStore:
    def __init__(self, engine: SqlEngine, pairs_table: str, labels_table: str, versions_table: str, audit_table: str) -> None:
        self._engine = engine
        self._pairs = pairs_table
        self._labels = labels_table
        self._versions = versions_table
        self._audit = audit_table

    def approval_candidates(self, where: str, params: dict[str, Any]) -> list[Row]:
        """The undecided pairs of a filtered queue (`where` over alias p), and whether each
        item already has a canonical label of the pair's label type."""
        return self._engine.query(
            "SELECT p.id, p.sheet_id, p.item_ref, p.label_type, p.messages, p.row_version, p.ai_confidence, l.id AS existing_label_id "
            f"FROM {self._pairs} AS p LEFT JOIN {self._labels} AS l ON l.sheet_id = p.sheet_id "
            f"AND l.item_ref = p.item_ref AND l.label_type = p.label_type WHERE {where} AND p.status = 'unlabeled' "
            "ORDER BY p.ordinal",
            params,
        )

    def create_labels(self, staged: dict[str, Any], training_sheet_id: str, user: str, at: datetime, confidence: str, notes: str) -> int:
        """One MERGE: a new canonical label (version 1) for each staged pair still as read,
        carrying the pair's governance. Keys that gained a label meanwhile are left alone."""
        return self._engine.execute(
            f"MERGE INTO {self._labels} AS t USING (SELECT s.label_id, p.sheet_id, p.item_ref, p.label_type, s.label_data, "
            "p.allowed_uses, p.prohibited_uses, p.usage_reason, p.data_classification "
            f"FROM {self._pairs} AS p JOIN {_STAGED} AS s ON p.id = s.pair_id WHERE p.training_sheet_id = :training_sheet_id "
            "AND p.status = 'unlabeled' AND p.row_version = s.read_version) AS s "
            "ON t.sheet_id = s.sheet_id AND t.item_ref = s.item_ref AND t.label_type = s.label_type "
            "WHEN NOT MATCHED THEN INSERT (id, sheet_id, item_ref, label_type, label_data, confidence, notes, allowed_uses, "
            "prohibited_uses, usage_reason, data_classification, labeled_by, labeled_at, last_modified_by, last_modified_at, "
            "version, created_at) VALUES (s.label_id, s.sheet_id, s.item_ref, s.label_type, s.label_data, :confidence, :notes, "
            "s.allowed_uses, s.prohibited_uses, s.usage_reason, s.data_classification, :user, :at, :user, :at, 1, :at)",
            {**staged, "training_sheet_id": training_sheet_id, "user": user, "at": at, "confidence": confidence, "notes": notes},
        )

    def add_created_versions(self, staged: dict[str, Any], user: str, at: datetime) -> int:
        """One INSERT: version 1 in the history of each label `create_labels` just made."""
        return self._engine.execute(
            f"INSERT INTO {self._versions} (id, canonical_label_id, version, sheet_id, item_ref, label_type, label_data, "
            "confidence, notes, allowed_uses, prohibited_uses, usage_reason, data_classification, change_kind, "
            "source_qa_pair_id, modified_by, modified_at) SELECT CAST(uuid() AS STRING), l.id, l.version, l.sheet_id, "
            "l.item_ref, l.label_type, l.label_data, l.confidence, l.notes, l.allowed_uses, l.prohibited_uses, "
            f"l.usage_reason, l.data_classification, :change_kind, s.pair_id, l.last_modified_by, l.last_modified_at "
            f"FROM {self._labels} AS l JOIN {_STAGED} AS s ON l.id = s.label_id "
            "WHERE l.version = 1 AND l.labeled_by = :user AND l.labeled_at = :at "
            f"AND NOT EXISTS (SELECT 1 FROM {self._versions} AS v WHERE v.canonical_label_id = l.id)",
            {**staged, "user": user, "at": at, "change_kind": str(ChangeKind.REVIEW)},
        )

    def audit_created_labels(self, staged: dict[str, Any], user: str, at: datetime, reason_prefix: str) -> int:
        """One INSERT: the audit row of each label `create_labels` just made (no constraints
        before; the pair's after), so a label's governance is on record from its first version."""
        return self._engine.execute(
            f"INSERT INTO {self._audit} (id, qa_pair_id, canonical_label_id, old_allowed_uses, new_allowed_uses, "
            "old_prohibited_uses, new_prohibited_uses, old_data_classification, new_data_classification, reason, "
            "modified_by, modified_at) SELECT CAST(uuid() AS STRING), s.pair_id, l.id, CAST(NULL AS ARRAY<STRING>), "
            "l.allowed_uses, CAST(NULL AS ARRAY<STRING>), l.prohibited_uses, CAST(NULL AS STRING), l.data_classification, "
            "CASE WHEN trim(coalesce(l.usage_reason, '')) <> '' THEN concat(:reason_prefix, ': ', l.usage_reason) "
            "ELSE :reason_prefix END, :user, :at "
            f"FROM {self._labels} AS l JOIN {_STAGED} AS s ON l.id = s.label_id "
            "WHERE l.version = 1 AND l.labeled_by = :user AND l.labeled_at = :at",
            {**staged, "user": user, "at": at, "reason_prefix": reason_prefix},
        )

    def approve_pairs(self, staged: dict[str, Any], user: str, at: datetime, note: str | None) -> int:
        """One MERGE: each staged pair still as read becomes labeled and linked to the label
        made for it by this approval (and only that one: a label someone else created meanwhile
        may say something else)."""
        return self._engine.execute(
            f"MERGE INTO {self._pairs} AS t USING (SELECT s.pair_id, s.label_id, s.read_version FROM {_STAGED} AS s "
            f"JOIN {self._labels} AS l ON l.id = s.label_id AND l.labeled_by = :user AND l.labeled_at = :at) AS s "
            "ON t.id = s.pair_id "
            "WHEN MATCHED AND t.status = 'unlabeled' AND t.row_version = s.read_version THEN UPDATE SET status = 'labeled', "
            "canonical_label_id = s.label_id, reviewed_by = :user, reviewed_at = :at, review_notes = :note, "
            "updated_at = :at, row_version = t.row_version + 1",
            {**staged, "user": user, "at": at, "note": note},
        )

    def remove_created_label(self, label_id: str, version: int) -> bool:
        """Take back a label an approval created (undo), with its history, if still at `version`."""
        removed = self._engine.execute(
            f"DELETE FROM {self._labels} WHERE id = :id AND version = :version", {"id": label_id, "version": version}
        )
        if removed == 1:
            self._engine.execute(f"DELETE FROM {self._versions} WHERE canonical_label_id = :id", {"id": label_id})
        return removed == 1
