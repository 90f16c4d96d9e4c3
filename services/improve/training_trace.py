"""Trace a feedback item to the training data behind the answer it judges: the pairs its model
version trained on (the exact ids its lineage names) whose prompts are most like the request's,
with the values their expert labels give. "The model learned from 5 pairs like this; 4 say
'crack'" points at either too few pairs or wrong labels; a wrong one is fixed in the Canonical
Labeling Tool, where the pair's item and label type lead."""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from data_access.embeddings.embedder import Embedder
from data_access.embeddings.factory import open_embedder
from data_access.sql.key_lists import in_list, key_chunks
from services.core.domain.template import SchemaField
from services.core.errors import NotFoundError, WorkbenchError
from services.core.workbench import Workbench
from services.improve.answer_values import answer_values, categorical_fields
from services.improve.records import Feedback
from services.improve.training_embeddings import TrainingEmbeddings
from services.monitor.drift import pair_prompt, request_prompt
from services.monitor.watched_model import WatchedModel, trained_model

# Pairs shown for one feedback item: enough to see whether the training answers agree, few
# enough for an expert to open each.
PAIRS_SHOWN = 5
# Request prompts' vectors kept per process (384 floats each: 1,024 of them are 1.5 MB); an
# expert opens the same item again while triaging it.
QUERY_VECTORS_KEPT = 1024
MODELS_KEPT = 64  # versions whose lineage, template and sheet a process keeps (a few hundred bytes each)


@dataclass(frozen=True)
class SimilarPair:
    pair_id: str
    sheet_id: str
    item_ref: str
    label_type: str
    similarity: float  # cosine of the two prompts' embeddings
    prompt: str
    label: str | None  # the expert label the pair trained with (its canonical label's data)
    values: dict[str, str | None]  # each fixed-set field's value in that label

    def says(self, field: str | None) -> str | None:
        return self.values.get(field) if field else None


@dataclass(frozen=True)
class TrainingTrace:
    feedback_id: str
    model_id: str
    request: str  # the request's prompt
    field: str | None  # the answer field the summary counts: the one the correction changed, else the first
    predicted: str | None  # the model's value of that field
    corrected: str | None  # the correction's value of that field
    pairs: tuple[SimilarPair, ...]
    semantic: bool  # False when the embedder fell back to shared words
    training_pairs: int  # pairs of the version with a stored vector

    @property
    def value_counts(self) -> list[tuple[str, int]]:
        """How many of the similar pairs give each value of `field`, most first."""
        counts = Counter(p.says(self.field) or "(no value)" for p in self.pairs)
        return counts.most_common()

    @property
    def summary(self) -> str:
        if not self.pairs:
            return "The model trained on no pair with a prompt to compare: nothing to trace."
        head = f"The model learned from {len(self.pairs)} pair{'s' if len(self.pairs) != 1 else ''} like this"
        if self.field is None:
            return head + "."
        counts = "; ".join(f"{n} say{'s' if n == 1 else ''} '{value}'" for value, n in self.value_counts)
        return f"{head}; {counts} ({self.field})."

    def disagrees_with_correction(self, pair: SimilarPair) -> bool:
        """The pair's label gives another value than the correction: a label to check."""
        return self.corrected is not None and pair.says(self.field) != self.corrected


# A registered version's lineage, template and sheet do not change once trained, so a process looks
# them up once per version (they cost two queries a lookup otherwise).
_models: OrderedDict[tuple[str, str, str, str], WatchedModel] = OrderedDict()
_models_lock = threading.Lock()
_query_vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_query_lock = threading.Lock()


class TrainingTraceService:
    def __init__(self, workbench: Workbench, embedder: Embedder | None = None) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._embedder = embedder or open_embedder(workbench.settings)
        self._embeddings = TrainingEmbeddings(workbench, self._embedder)
        self._log = workbench.table("inference_log")
        self._pairs = workbench.table("qa_pairs")
        self._labels = workbench.table("canonical_labels")

    def model_of(self, feedback: Feedback) -> WatchedModel:
        if not (feedback.model_name and feedback.model_version):
            raise NotFoundError("This feedback names no model version (its request was not answered by a registered model).")
        key = (str(self._wb.settings.home), self._wb.table("model_training_lineage"), feedback.model_name, feedback.model_version)
        with _models_lock:
            model = _models.get(key)
        if model is None:
            model = trained_model(self._wb, feedback.model_name, feedback.model_version)
            if model is not None:
                with _models_lock:
                    _models[key] = model
                    while len(_models) > MODELS_KEPT:
                        _models.popitem(last=False)
        if model is None:
            raise NotFoundError(f"{feedback.model_id} has no training lineage: there are no training pairs to trace it to.")
        return model

    def untraced_pairs(self, feedback: Feedback) -> int:
        """Training pairs of the feedback's version whose prompt is not embedded yet (the first trace
        of a version embeds them, which takes a while for thousands)."""
        model = self.model_of(feedback)
        return int(self._engine.scalar(
            f"SELECT count(*) FROM {self._pairs} q WHERE q.id IN (SELECT explode(train_pair_ids) FROM "
            f"{self._wb.table('model_training_lineage')} WHERE id = :lineage_id) AND NOT EXISTS (SELECT 1 FROM "
            f"{self._wb.table('training_pair_embeddings')} e WHERE e.lineage_id = :lineage_id AND e.embedding_model = :model "
            "AND e.qa_pair_id = q.id)",
            {"lineage_id": model.lineage_id, "model": self._embedder.name},
        ) or 0)

    def trace(self, feedback: Feedback, k: int = PAIRS_SHOWN) -> TrainingTrace:
        """The k training pairs most like the request the feedback judges, best first."""
        model = self.model_of(feedback)
        logged = self._engine.query_one(f"SELECT l.request, l.prediction FROM {self._log} l WHERE l.id = :id", {"id": feedback.inference_log_id})
        prompt = request_prompt(logged["request"]) if logged else None
        if not prompt:
            raise WorkbenchError("The logged request has no user prompt to compare with the training prompts.")
        vectors = self._embeddings.vectors(model.lineage_id)
        hits = vectors.nearest(self._query_vector(prompt), k)
        fields = categorical_fields(model)
        predicted = answer_values(logged["prediction"] if logged else None, fields)
        corrected = answer_values(feedback.correction, fields) if feedback.correction else {}
        field = _focus(fields, predicted, corrected)
        return TrainingTrace(
            feedback.id, f"{model.model_name}/{model.model_version}", prompt, field,
            predicted.get(field) if field else None, corrected.get(field) if field else None,
            tuple(self._similar(hits, fields, model.label_type)), self._embedder.is_semantic, len(vectors.pair_ids),
        )

    def _query_vector(self, prompt: str) -> np.ndarray:
        key = (self._embedder.name, prompt)
        with _query_lock:
            if key in _query_vectors:
                _query_vectors.move_to_end(key)
                return _query_vectors[key]
        vector = self._embedder.embed_one(prompt)
        with _query_lock:
            _query_vectors[key] = vector
            while len(_query_vectors) > QUERY_VECTORS_KEPT:
                _query_vectors.popitem(last=False)
        return vector

    def _similar(self, hits: list[tuple[str, float]], fields: tuple[SchemaField, ...], label_type: str | None) -> list[SimilarPair]:
        if not hits:
            return []
        pairs = self._by_ids(
            f"SELECT q.id, q.sheet_id, q.item_ref, q.label_type, q.messages, q.canonical_label_id FROM {self._pairs} q WHERE q.id",
            [pair_id for pair_id, _ in hits],
        )
        labels = {r["id"]: r["label_data"] for r in self._by_ids(
            f"SELECT c.id, c.label_data FROM {self._labels} c WHERE c.id", [r["canonical_label_id"] for r in pairs if r["canonical_label_id"]],
        )}
        rows = [{**r, "label_data": labels.get(r["canonical_label_id"])} for r in pairs]
        by_id = {r["id"]: r for r in rows}
        return [
            SimilarPair(
                pair_id, row["sheet_id"], row["item_ref"], row["label_type"] or label_type or "", score,
                pair_prompt(row["messages"]) or "", row["label_data"], answer_values(row["label_data"], fields),
            )
            for pair_id, score in hits if (row := by_id.get(pair_id)) is not None
        ]

    def _by_ids(self, select_where_id: str, ids: list[str]) -> list[dict[str, Any]]:
        """`… WHERE x.id` IN these ids (data_access/sql/key_lists.py: found by primary key)."""
        return [r for chunk in key_chunks(ids) for r in self._engine.query(f"{select_where_id} IN {in_list(chunk)}", chunk)]


def _focus(fields: tuple[SchemaField, ...], predicted: dict[str, str | None], corrected: dict[str, str | None]) -> str | None:
    """The field a correction changed (the one the feedback is about); else the first fixed-set field."""
    changed = [f.name for f in fields if corrected.get(f.name) is not None and corrected[f.name] != predicted.get(f.name)]
    return changed[0] if changed else (fields[0].name if fields else None)
