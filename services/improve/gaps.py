"""Gap analysis of one model version: for each value of each fixed-set answer field (defect type,
document type, urgency, …), how many pairs it trained on (from the lineage) against how often
feedback says the model got it wrong when it answered that value; the values most often confused
(prediction → correction); values people correct to that neither the output schema nor the
training set knows ("micro-crack"); and recommendations ranked by the feedback they answer, each
with its numbers.

Counting is SQL, set-based: one grouped query of the training labels and one of the feedback per
field, each returning a row per value (or per predicted × corrected pair of values); Python only
arranges those few rows."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.core.domain.template import SchemaField
from services.core.errors import NotFoundError
from services.core.workbench import Workbench
from services.improve.answer_values import categorical_fields, schema_values
from services.improve.records import FeedbackKind, FeedbackStatus
from services.monitor.answer_sql import comparable, json_path
from services.monitor.watched_model import WatchedModel, trained_model

# A rate over fewer feedback items than this says nothing yet: such a value gets no rate-based advice.
MIN_FEEDBACK = 5
# A value whose feedback is at least this share negative needs attention.
HIGH_ERROR_RATE = 0.25
# Below this share of the field's average training pairs per value, a value is thinly taught:
# label more. At or above it, the examples are there and their labels may disagree: review them.
THIN_SHARE = 0.5
CONFUSIONS_SHOWN = 10
NO_VALUE = "(no value)"  # an answer without the field, or not JSON


class Action(StrEnum):
    ADD_VALUE = "add to the schema and label"
    LABEL_MORE = "label more"
    REVIEW_LABELS = "review its training labels"
    CHECK_FORMAT = "check the answers' format: the field is missing or the answer is not JSON"


@dataclass(frozen=True)
class ValueGap:
    field: str
    value: str
    in_schema: bool
    training_pairs: int
    feedback: int  # judged feedback on answers that gave this value
    negative: int  # of which said the value was wrong (thumbs down, or corrected to another value)
    corrected_to: int  # corrections that give this value instead of another

    @property
    def error_rate(self) -> float | None:
        return self.negative / self.feedback if self.feedback else None

    @property
    def is_new(self) -> bool:
        """People correct to it, yet neither the output schema nor the training set has it."""
        return self.corrected_to > 0 and not self.in_schema and self.training_pairs == 0


@dataclass(frozen=True)
class Confusion:
    field: str
    predicted: str
    corrected: str
    count: int


@dataclass(frozen=True)
class Recommendation:
    field: str
    value: str
    action: Action
    feedback_answered: int  # the negative feedback (or corrections) this would address: the rank
    sentence: str


@dataclass(frozen=True)
class ModelVersionChoice:
    model_name: str
    model_version: str
    feedback: int

    @property
    def model_id(self) -> str:
        return f"{self.model_name}/{self.model_version}"


@dataclass(frozen=True)
class GapReport:
    model_id: str
    fields: tuple[str, ...]  # the fixed-set answer fields analysed (none: the schema has no such field)
    feedback: int  # judged feedback on the version (ratings and corrections, not dismissed)
    values: tuple[ValueGap, ...]
    confusions: tuple[Confusion, ...]
    recommendations: tuple[Recommendation, ...]

    @property
    def new_values(self) -> tuple[ValueGap, ...]:
        return tuple(v for v in self.values if v.is_new)


class GapService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._feedback = workbench.table("feedback")
        self._log = workbench.table("inference_log")
        self._lineage = workbench.table("model_training_lineage")
        self._pairs = workbench.table("qa_pairs")
        self._labels = workbench.table("canonical_labels")

    def versions(self) -> list[ModelVersionChoice]:
        """Every registered version with a training lineage, with its judged feedback; most recently trained first."""
        rows = self._engine.query(
            f"SELECT m.model_name, m.model_version, max(m.trained_at) AS trained_at, max(coalesce(f.n, 0)) AS feedback "
            f"FROM {self._lineage} m LEFT JOIN (SELECT j.model_name, j.model_version, count(*) AS n FROM {self._feedback} j "
            f"WHERE {_judged('j')} GROUP BY j.model_name, j.model_version) f "
            "ON f.model_name = m.model_name AND f.model_version = m.model_version "
            "WHERE m.model_name IS NOT NULL AND m.model_version IS NOT NULL "
            "GROUP BY m.model_name, m.model_version ORDER BY trained_at DESC, m.model_name, m.model_version",
            _JUDGED_PARAMS,
        )
        return [ModelVersionChoice(r["model_name"], str(r["model_version"]), int(r["feedback"])) for r in rows]

    def report(self, model_name: str, model_version: str) -> GapReport:
        model = trained_model(self._wb, model_name, model_version)
        if model is None:
            raise NotFoundError(f"{model_name}/{model_version} has no training lineage: there is no training set to compare with.")
        fields = categorical_fields(model)
        feedback = int(self._engine.scalar(
            f"SELECT count(*) FROM {self._feedback} f WHERE f.model_name = :name AND f.model_version = :version AND {_judged('f')}",
            {"name": model_name, "version": model_version, **_JUDGED_PARAMS},
        ) or 0)
        values: list[ValueGap] = []
        confusions: list[Confusion] = []
        for field in fields:
            field_values, field_confusions = self._field(model, field)
            values += field_values
            confusions += field_confusions
        confusions.sort(key=lambda c: (-c.count, c.field, c.predicted, c.corrected))
        return GapReport(f"{model_name}/{model_version}", tuple(f.name for f in fields), feedback, tuple(values),
                         tuple(confusions[:CONFUSIONS_SHOWN]), tuple(recommend(values, confusions)))

    def _field(self, model: WatchedModel, field: SchemaField) -> tuple[list[ValueGap], list[Confusion]]:
        params: dict[str, Any] = {"path": json_path(field), "lineage_id": model.lineage_id, "name": model.model_name,
                                  "version": model.model_version, **_JUDGED_PARAMS}
        training = {
            r["v"]: int(r["n"]) for r in self._engine.query(
                f"SELECT {comparable('c.label_data', 'path', field)} AS v, count(*) AS n FROM {self._pairs} q "
                f"JOIN {self._labels} c ON c.id = q.canonical_label_id "
                f"WHERE q.id IN (SELECT explode(train_pair_ids) FROM {self._lineage} WHERE id = :lineage_id) GROUP BY 1",
                params,
            ) if r["v"] is not None
        }
        # One row per (predicted, corrected) pair of values. A correction that keeps this field's
        # value judges another field; a thumbs down without a correction judges the whole answer.
        judged = self._engine.query(
            "SELECT predicted, corrected, count(*) AS n, "
            "count_if(CASE WHEN corrected IS NOT NULL THEN NOT (corrected <=> predicted) ELSE feedback_value = 'down' END) AS negative "
            f"FROM (SELECT {comparable('l.prediction', 'path', field)} AS predicted, {comparable('f.correction', 'path', field)} AS corrected, "
            f"f.feedback_value FROM {self._feedback} f JOIN {self._log} l ON l.id = f.inference_log_id "
            f"WHERE f.model_name = :name AND f.model_version = :version AND {_judged('f')}) j "
            "GROUP BY predicted, corrected",
            params,
        )
        return _value_gaps(field, training, judged), _confusions(field, judged)


# Feedback that judges an answer: ratings and corrections, not the low-confidence entries (the model
# was unsure; nobody has said it was wrong yet) and not what an expert dismissed.
def _judged(alias: str) -> str:
    return f"{alias}.feedback_type IN (:rating, :correction) AND ({alias}.status IS NULL OR {alias}.status <> :dismissed)"



_JUDGED_PARAMS = {"rating": FeedbackKind.RATING.value, "correction": FeedbackKind.CORRECTION.value,
                  "dismissed": FeedbackStatus.DISMISSED.value}


def _value_gaps(field: SchemaField, training: dict[str, int], judged: list[dict[str, Any]]) -> list[ValueGap]:
    schema = schema_values(field)
    feedback: dict[str, list[int]] = {}
    corrected_to: dict[str, int] = {}
    for row in judged:
        predicted = row["predicted"] or NO_VALUE
        totals = feedback.setdefault(predicted, [0, 0])
        totals[0] += int(row["n"])
        totals[1] += int(row["negative"])
        if row["corrected"] is not None and row["corrected"] != row["predicted"]:
            corrected_to[row["corrected"]] = corrected_to.get(row["corrected"], 0) + int(row["n"])
    seen = [*schema, *sorted({*training, *feedback, *corrected_to} - set(schema) - {NO_VALUE})]
    if NO_VALUE in feedback:
        seen.append(NO_VALUE)
    return [
        ValueGap(field.name, v, v in schema, training.get(v, 0), feedback.get(v, [0, 0])[0], feedback.get(v, [0, 0])[1], corrected_to.get(v, 0))
        for v in seen
    ]


def _confusions(field: SchemaField, judged: list[dict[str, Any]]) -> list[Confusion]:
    return [
        Confusion(field.name, row["predicted"] or NO_VALUE, row["corrected"], int(row["n"]))
        for row in judged if row["corrected"] is not None and row["corrected"] != row["predicted"]
    ]


def recommend(values: list[ValueGap], confusions: list[Confusion]) -> list[Recommendation]:
    """New values; values answered wrong often enough to trust the rate, thinly taught (label more) or
    well taught (review the labels); schema values never trained on. Ranked by the feedback each would
    answer; among equals, in that order."""
    out: list[Recommendation] = []
    for field in dict.fromkeys(v.field for v in values):
        mine = [v for v in values if v.field == field]
        taught = [v.training_pairs for v in mine if v.in_schema or v.training_pairs]
        average = statistics.fmean(taught) if taught else 0.0
        for v in mine:
            advice = _advice(v, average, [c for c in confusions if c.field == field and c.predicted == v.value])
            if advice is not None:
                out.append(advice)
    order = list(Action)
    out.sort(key=lambda r: (-r.feedback_answered, order.index(r.action), r.field, r.value))
    return out


def _advice(v: ValueGap, average: float, confused: list[Confusion]) -> Recommendation | None:
    pairs = f"{v.training_pairs:,} training pair{'s' if v.training_pairs != 1 else ''}"
    if v.is_new:
        return Recommendation(v.field, v.value, Action.ADD_VALUE, v.corrected_to,
                              f"{v.value}: named by {v.corrected_to:,} correction{'s' if v.corrected_to != 1 else ''}, but neither the "
                              f"output schema nor the training set has it: {Action.ADD_VALUE.value} pairs for it.")
    rate = v.error_rate
    if rate is not None and v.feedback >= MIN_FEEDBACK and rate >= HIGH_ERROR_RATE:
        most = max(confused, key=lambda c: c.count, default=None)
        instead = f", most often corrected to {most.corrected} ({most.count:,})" if most else ""
        if v.value == NO_VALUE:
            return Recommendation(v.field, v.value, Action.CHECK_FORMAT, v.negative,
                                  f"Answers without a {v.field}: {rate:.0%} of their {v.feedback:,} feedback negative: "
                                  f"{Action.CHECK_FORMAT.value}.")
        thin = v.training_pairs < THIN_SHARE * average
        action = Action.LABEL_MORE if thin else Action.REVIEW_LABELS
        return Recommendation(v.field, v.value, action, v.negative,
                              f"{v.value}: {pairs}, {rate:.0%} of its {v.feedback:,} feedback negative{instead}: {action.value}.")
    if v.in_schema and v.training_pairs == 0 and v.value != NO_VALUE:
        return Recommendation(v.field, v.value, Action.LABEL_MORE, v.negative,
                              f"{v.value}: 0 training pairs; the model has never seen it answered: {Action.LABEL_MORE.value}.")
    return None
