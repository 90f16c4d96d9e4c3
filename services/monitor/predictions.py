"""What a model version predicted, aggregated in SQL: each compared field of its answers against
the answers it was trained on (the expert labels of its training pairs, from the lineage), the
confidence it reported, if it reports one, and how often it was right where the truth is known.

Ground truth comes from sources unioned in one query, each giving (log row, expected answer):
today the canonical label of the sheet item a request was rendered from (labeled evaluation
traffic); IMPROVE's feedback corrections join as another branch of `_TRUTH_SOURCES`, keyed by the
request they correct."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.core.domain.template import SchemaField
from services.core.workbench import Workbench
from services.monitor.answer_sql import comparable, json_field, json_path
from services.monitor.binning import bin_counts, bin_labels, decile_edges
from services.monitor.log_scope import ANSWERED, LOG_FILTER, LogScope
from services.monitor.watched_model import WatchedModel, compared_fields, has_plain_name, is_numeric

NOT_PARSED = "(no value)"  # an answer without the field: not JSON, or the field missing
CONFIDENCE_BINS = 10


@dataclass(frozen=True)
class FieldDistribution:
    field: str
    numeric: bool
    bins: tuple[str, ...]
    training: tuple[int, ...]
    live: tuple[int, ...]

    @property
    def live_total(self) -> int:
        return sum(self.live)

    @property
    def training_total(self) -> int:
        return sum(self.training)


@dataclass(frozen=True)
class ConfidenceBin:
    low: float
    high: float
    requests: int


@dataclass(frozen=True)
class AccuracyBucket:
    start: datetime
    source: str
    compared: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.compared


class PredictionService:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._log = workbench.table("inference_log")
        self._lineage = workbench.table("model_training_lineage")
        self._pairs = workbench.table("qa_pairs")
        self._labels = workbench.table("canonical_labels")

    # -- the training set and the live answers, as queries of one column `v` -----------------------
    def _live_values(self, value: str) -> str:
        return f"SELECT {value} AS v FROM {self._log} l WHERE {LOG_FILTER} AND {ANSWERED}"

    def _training_values(self, value: str) -> str:
        """The answers of the pairs the model trained on: the expert label each pair is linked to."""
        return (
            f"SELECT {value} AS v FROM {self._pairs} q JOIN {self._labels} c ON c.id = q.canonical_label_id "
            f"WHERE q.id IN (SELECT explode(train_pair_ids) FROM {self._lineage} WHERE id = :lineage_id)"
        )

    def distributions(self, scope: LogScope, model: WatchedModel) -> list[FieldDistribution]:
        return [self._distribution(scope, model, f) for f in compared_fields(model.output_schema)]

    def _distribution(self, scope: LogScope, model: WatchedModel, field: SchemaField) -> FieldDistribution:
        params = {**scope.params(), "lineage_id": model.lineage_id, "path": json_path(field)}
        if is_numeric(field):
            live_sql = self._live_values(f"try_cast({json_field('l.prediction', 'path')} AS DOUBLE)")
            training_sql = self._training_values(f"try_cast({json_field('c.label_data', 'path')} AS DOUBLE)")
            edges = decile_edges(self._engine, training_sql, params)
            return FieldDistribution(field.name, True, tuple(bin_labels(edges)), tuple(bin_counts(self._engine, training_sql, params, edges)),
                                     tuple(bin_counts(self._engine, live_sql, params, edges)))
        live = self._counts(self._live_values(comparable("l.prediction", "path", field)), params)
        training = self._counts(self._training_values(comparable("c.label_data", "path", field)), params)
        values = [v.casefold() for v in field.choices] or ["true", "false"]
        values += sorted(v for v in {*live, *training} if v not in values and v != NOT_PARSED)
        values.append(NOT_PARSED)
        return FieldDistribution(field.name, False, tuple(values), tuple(training.get(v, 0) for v in values), tuple(live.get(v, 0) for v in values))

    def _counts(self, values_sql: str, params: dict[str, Any]) -> dict[str, int]:
        rows = self._engine.query(f"SELECT v, count(*) AS n FROM ({values_sql}) b GROUP BY v", params)
        return {NOT_PARSED if r["v"] is None else str(r["v"]): int(r["n"]) for r in rows}

    # -- confidence ----------------------------------------------------------------------------------
    def confidence_histogram(self, scope: LogScope) -> list[ConfidenceBin]:
        """Answered requests by reported confidence, in tenths; empty when the model reports none."""
        rows = self._engine.query(
            f"SELECT least(CAST(floor(l.confidence * {CONFIDENCE_BINS}) AS INT), {CONFIDENCE_BINS - 1}) AS bin, count(*) AS n "
            f"FROM {self._log} l WHERE {LOG_FILTER} AND {ANSWERED} AND l.confidence IS NOT NULL GROUP BY 1 ORDER BY 1",
            scope.params(),
        )
        return [ConfidenceBin(int(r["bin"]) / CONFIDENCE_BINS, (int(r["bin"]) + 1) / CONFIDENCE_BINS, int(r["n"])) for r in rows]

    # -- accuracy ------------------------------------------------------------------------------------
    def _truth_sources(self) -> str:
        """(log row id, when, prediction, expected answer, source) for every request whose answer is known."""
        return (
            f"SELECT l.id, l.created_at, l.prediction, c.label_data AS expected, 'labeled evaluation traffic' AS source "
            f"FROM {self._log} l JOIN {self._labels} c ON c.sheet_id = l.sheet_id AND c.item_ref = l.item_ref "
            f"AND c.label_type = :label_type WHERE {LOG_FILTER} AND {ANSWERED}"
        )

    def accuracy_over_time(self, scope: LogScope, model: WatchedModel) -> list[AccuracyBucket]:
        """Per bucket and source: requests with a known answer, and those whose every compared field
        matched. Empty when no request in the window has a known answer."""
        fields = compared_fields(model.output_schema) or tuple(f for f in model.output_schema if has_plain_name(f))
        if not fields or model.label_type is None:
            return []
        paths = {f"path_{i}": json_path(f) for i, f in enumerate(fields)}
        matches = " AND ".join(
            f"coalesce({comparable('t.prediction', name, f)} = {comparable('t.expected', name, f)}, false)"
            for name, f in zip(paths, fields, strict=True)
        )
        bucket = f"date_trunc('{scope.window.bucket}', t.created_at)"
        rows = self._engine.query(
            f"SELECT {bucket} AS bucket, t.source, count(*) AS compared, count_if({matches}) AS correct "
            f"FROM ({self._truth_sources()}) t GROUP BY {bucket}, t.source ORDER BY bucket, t.source",
            {**scope.params(), **paths, "label_type": model.label_type},
        )
        return [AccuracyBucket(r["bucket"], r["source"], int(r["compared"]), int(r["correct"])) for r in rows]
