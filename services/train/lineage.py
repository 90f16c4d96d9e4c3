"""Lineage: model → Training Sheet → Q&A pairs → canonical labels → source items, and back.

The PRD's four queries (its "Lineage Query Examples"), in Databricks SQL through the engine,
adapted only where the schema or the transpile to DuckDB asks:
- a run may combine Training Sheets: `training_sheet_id` keeps the first, `training_sheet_ids`
  all of them, and the queries match either;
- `training_config` is a JSON string, so `training_config['base_model']` is
  `get_json_object(training_config, '$.base_model')` (and there is no temperature in a training
  config: the learning rate stands beside the base model instead);
- `FROM lineage LATERAL VIEW EXPLODE(qa_pair_ids) AS id JOIN qa_pairs …` is transpiled with the
  join before the unnest, which DuckDB refuses; exploding the ids in a subquery and joining
  that is the same query on Databricks and runs on both.
Query 3 also joins each pair to its canonical label and says which split it was in, and pages by
cutting the run's id arrays (`slice`) before reading the pairs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.core.domain.qa_pair import Message, messages_from_json
from services.core.errors import NotFoundError
from services.core.workbench import Workbench
from services.data.sheet_items import SheetItem
from services.data.sheets import SheetService

PAIRS_PAGE = 50  # rows of the pairs that trained a model, per page
MAX_PAIRS_PAGE = 1000  # the page's ids travel as one array parameter; past this, page further


@dataclass(frozen=True)
class TrainedModel:
    model_id: str
    model_name: str
    model_version: str
    trained_at: datetime | None
    train_pair_count: int
    run_id: str


@dataclass(frozen=True)
class SourceTrainingSheet:
    id: str
    name: str
    labeled_pairs: int
    labeling_mode: str
    trained_at: datetime | None


@dataclass(frozen=True)
class TrainedPair:
    pair_id: str
    split: str  # train or validation
    messages: tuple[Message, ...]
    status: str
    quality_score: float | None
    training_sheet_id: str
    sheet_id: str
    item_ref: str
    canonical_label_id: str | None
    label_data: dict[str, Any] | None
    label_version: int | None
    labeled_by: str | None


@dataclass(frozen=True)
class ModelComparison:
    model_id: str
    model_name: str
    model_version: str
    train_pair_count: int
    base_model: str | None
    learning_rate: str | None
    accuracy: float | None
    f1_score: float | None
    base_accuracy: float | None


class LineageService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._lineage = workbench.table("model_training_lineage")

    def models(self) -> list[TrainedModel]:
        """Every registered model a run produced, newest first (the picker of the lineage panel)."""
        rows = self._engine.query(
            f"SELECT model_id, model_name, model_version, trained_at, train_pair_count, id FROM {self._lineage} "
            "WHERE model_id IS NOT NULL ORDER BY trained_at DESC",
        )
        return [_trained_model(r) for r in rows]

    def models_trained_on(self, training_sheet_id: str) -> list[TrainedModel]:
        """Query 1: which models were trained on Training Sheet X?"""
        rows = self._engine.query(
            f"SELECT model_id, model_name, model_version, trained_at, train_pair_count, id FROM {self._lineage} "
            "WHERE (training_sheet_id = :training_sheet_id OR array_contains(coalesce(training_sheet_ids, array()), :training_sheet_id)) "
            "AND model_id IS NOT NULL ORDER BY trained_at DESC",
            {"training_sheet_id": training_sheet_id},
        )
        return [_trained_model(r) for r in rows]

    def training_sheets_of(self, model_id: str) -> list[SourceTrainingSheet]:
        """Query 2: which Training Sheet(s) trained model Y?"""
        rows = self._engine.query(
            "SELECT ts.id, ts.name, ts.labeled_pairs, ts.labeling_mode, mtl.trained_at "
            f"FROM (SELECT explode(coalesce(training_sheet_ids, array(training_sheet_id))) AS training_sheet_id, trained_at "
            f"FROM {self._lineage} WHERE model_id = :model_id) mtl "
            f"JOIN {self._wb.table('training_sheets')} ts ON ts.id = mtl.training_sheet_id ORDER BY ts.name",
            {"model_id": model_id},
        )
        return [SourceTrainingSheet(r["id"], r["name"], int(r["labeled_pairs"] or 0), r["labeling_mode"], r["trained_at"]) for r in rows]

    def pairs_of(self, model_id: str, limit: int = PAIRS_PAGE, offset: int = 0) -> list[TrainedPair]:
        """Query 3: the Q&A pairs that trained model Y, with their canonical labels, a page at a time,
        in the order of the export (training split first). The page's ids are cut from the run's id
        arrays first, then only those pairs are read: a page costs the same for a run of a hundred
        pairs or of 100,000 (joining the exploded ids instead reads every pair's messages)."""
        limit = max(1, min(limit, MAX_PAIRS_PAGE))
        page = self._engine.query_one(
            "SELECT slice(concat(coalesce(train_pair_ids, array()), coalesce(val_pair_ids, array())), :start, :limit) AS ids, "
            f"size(coalesce(train_pair_ids, array())) AS train_count FROM {self._lineage} WHERE model_id = :model_id",
            {"model_id": model_id, "start": offset + 1, "limit": limit},
        )
        ids = list(page["ids"] or ()) if page else []
        if not ids:
            return []
        rows = self._engine.query(
            "SELECT qa.id, qa.messages, qa.status, qa.quality_score, qa.training_sheet_id, qa.sheet_id, qa.item_ref, "
            "qa.canonical_label_id, cl.label_data, cl.version AS label_version, cl.labeled_by "
            f"FROM {self._wb.table('qa_pairs')} qa LEFT JOIN {self._wb.table('canonical_labels')} cl ON cl.id = qa.canonical_label_id "
            "WHERE array_contains(:ids, qa.id)",
            {"ids": ids},
        )
        by_id = {r["id"]: r for r in rows}
        train_count = int(page["train_count"] or 0)
        return [
            _trained_pair(by_id[pair_id], "train" if offset + position < train_count else "validation")
            for position, pair_id in enumerate(ids)
            if pair_id in by_id  # a pair deleted since (its Training Sheet removed) is no longer there to show
        ]

    def compare_models(self, training_sheet_id: str) -> list[ModelComparison]:
        """Query 4: models trained on the same Training Sheet, with their evaluation, best first."""
        rows = self._engine.query(
            "SELECT mtl.model_id, mtl.model_name, mtl.model_version, mtl.train_pair_count, "
            "get_json_object(mtl.training_config, '$.base_model') AS base_model, "
            "get_json_object(mtl.training_config, '$.learning_rate') AS learning_rate, "
            "eval.accuracy, eval.f1_score, base.accuracy AS base_accuracy "
            f"FROM {self._lineage} mtl "
            f"LEFT JOIN {self._wb.table('model_evaluations')} eval ON eval.model_id = mtl.model_id "
            f"LEFT JOIN {self._wb.table('model_evaluations')} base ON base.lineage_id = mtl.id AND base.evaluated_model = 'base' "
            "WHERE (mtl.training_sheet_id = :training_sheet_id OR array_contains(coalesce(mtl.training_sheet_ids, array()), :training_sheet_id)) "
            "AND mtl.model_id IS NOT NULL ORDER BY eval.accuracy DESC NULLS LAST, mtl.trained_at DESC",
            {"training_sheet_id": training_sheet_id},
        )
        return [
            ModelComparison(
                r["model_id"], r["model_name"], r["model_version"], int(r["train_pair_count"] or 0), r["base_model"],
                r["learning_rate"], r["accuracy"], r["f1_score"], r["base_accuracy"],
            )
            for r in rows
        ]

    def feedback_of(self, model_id: str) -> list[str]:
        """The feedback items a model learned from: those its trained and validated pairs were made
        from (`qa_pairs.feedback_id`, set when IMPROVE adds feedback to a Training Sheet)."""
        rows = self._engine.query(
            "SELECT DISTINCT q.feedback_id FROM (SELECT explode(qa_pair_ids) AS pair_id "
            f"FROM {self._lineage} WHERE model_id = :model_id) p "
            f"JOIN {self._wb.table('qa_pairs')} q ON q.id = p.pair_id WHERE q.feedback_id IS NOT NULL ORDER BY q.feedback_id",
            {"model_id": model_id},
        )
        return [r["feedback_id"] for r in rows]

    def source_item(self, pair: TrainedPair) -> SheetItem:
        """The source item behind a pair: its row's fields and its files, for a preview."""
        sheets = SheetService(self._wb)
        found = sheets.items_for_refs(sheets.get(pair.sheet_id), [pair.item_ref])
        if not found:
            raise NotFoundError(f"{pair.item_ref} is no longer in its sheet's source (it may have been filtered out or deleted).")
        return found[0]


def _trained_model(row: dict[str, Any]) -> TrainedModel:
    return TrainedModel(row["model_id"], row["model_name"], row["model_version"], row["trained_at"], int(row["train_pair_count"] or 0), row["id"])


def _trained_pair(row: dict[str, Any], split: str) -> TrainedPair:
    label = json.loads(row["label_data"]) if row["label_data"] else None
    return TrainedPair(
        pair_id=row["id"], split=split, messages=messages_from_json(row["messages"]), status=row["status"],
        quality_score=row["quality_score"], training_sheet_id=row["training_sheet_id"], sheet_id=row["sheet_id"],
        item_ref=row["item_ref"], canonical_label_id=row["canonical_label_id"], label_data=label,
        label_version=row["label_version"], labeled_by=row["labeled_by"],
    )

