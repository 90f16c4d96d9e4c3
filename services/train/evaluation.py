"""Scoring answers to the evaluation set: per field of the template's output schema, and overall.

- Exact match (a field's accuracy): the answer's value equals the expert's, after trimming and
  case-folding text, comparing numbers as numbers and lists whatever their order.
- F1 of a field: macro-F1 over its classes when the schema lists its choices (a classifier's
  measure, fair to rare classes); token-overlap F1 for free text (partial credit for a summary
  that says most of it); exact match for numbers, booleans, lists and objects.
- Overall accuracy: the share of pairs whose every expected field matched; overall F1: the mean
  of the fields' F1; valid output rate: answers that parse as the schema's JSON at all.

A pair whose expected answer is not a JSON object is scored as one free-text field, `answer`.
The fine-tuned model is better than its base only with a higher accuracy, or the same accuracy
and a higher F1; anything else is reported as not better.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.core.domain.template import FieldType, SchemaField
from services.templates.output_parsing import parse_output

TEXT_FIELD = "answer"  # the one field of an answer that is not JSON
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class EvaluationItem:
    pair_id: str
    expected: str
    schema: tuple[SchemaField, ...] = ()


@dataclass(frozen=True)
class FieldScore:
    name: str
    exact_match: float
    f1: float
    support: int  # pairs whose expected answer has this field
    measure: str  # how f1 was computed: macro_f1, token_f1 or exact_match


@dataclass(frozen=True)
class AnswerScore:
    pair_id: str
    expected: str
    answer: str
    correct: bool


@dataclass(frozen=True)
class ModelScore:
    evaluated_model: str  # base or fine_tuned
    accuracy: float
    f1_score: float
    valid_output_rate: float
    fields: tuple[FieldScore, ...]
    answers: tuple[AnswerScore, ...]

    @property
    def pair_count(self) -> int:
        return len(self.answers)

    def metrics(self, prefix: str) -> dict[str, float]:
        """Flat metric names for the tracking run, e.g. fine_tuned_accuracy, fine_tuned_f1_urgency."""
        values = {f"{prefix}_accuracy": self.accuracy, f"{prefix}_f1": self.f1_score, f"{prefix}_valid_output_rate": self.valid_output_rate}
        for field in self.fields:
            values[f"{prefix}_exact_match_{field.name}"] = field.exact_match
            values[f"{prefix}_f1_{field.name}"] = field.f1
        return values


@dataclass(frozen=True)
class Comparison:
    base: ModelScore
    fine_tuned: ModelScore

    @property
    def improved(self) -> bool:
        tuned, base = self.fine_tuned, self.base
        return tuned.accuracy > base.accuracy or (tuned.accuracy == base.accuracy and tuned.f1_score > base.f1_score)

    @property
    def verdict(self) -> str:
        tuned, base = self.fine_tuned, self.base
        change = f"accuracy {base.accuracy:.0%} → {tuned.accuracy:.0%}, F1 {base.f1_score:.2f} → {tuned.f1_score:.2f}"
        if self.improved:
            return f"Better than its base model on {tuned.pair_count} held-out pairs ({change})."
        return f"Not better than its base model on {tuned.pair_count} held-out pairs ({change})."


# -- reading values --------------------------------------------------------------------------
def _expected_fields(item: EvaluationItem) -> dict[str, Any] | None:
    try:
        value = json.loads(item.expected)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _normalised(value: Any) -> Any:
    if isinstance(value, str):
        text = " ".join(value.split()).casefold()
        try:
            return float(text)  # "3" and 3.0 are the same answer
        except ValueError:
            return text
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return sorted(json.dumps(_normalised(v), sort_keys=True, default=str) for v in value)
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items()}
    return value


def _tokens(value: Any) -> list[str]:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return [t.casefold() for t in _TOKEN.findall(text)]


def token_f1(expected: Any, answer: Any) -> float:
    gold, said = _tokens(expected), _tokens(answer) if answer is not None else []
    if not gold and not said:
        return 1.0
    common = sum((Counter(gold) & Counter(said)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(said), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def macro_f1(expected: Sequence[Any], answers: Sequence[Any]) -> float:
    """Mean F1 over the classes the experts used; a missing answer counts against recall."""
    gold = [_normalised(v) for v in expected]
    said = [_normalised(v) for v in answers]
    classes = {json.dumps(g, default=str) for g in gold}
    scores = []
    for label in classes:
        tp = sum(1 for g, s in zip(gold, said, strict=True) if json.dumps(g, default=str) == label and json.dumps(s, default=str) == label)
        fp = sum(1 for g, s in zip(gold, said, strict=True) if json.dumps(g, default=str) != label and json.dumps(s, default=str) == label)
        fn = sum(1 for g, s in zip(gold, said, strict=True) if json.dumps(g, default=str) == label and json.dumps(s, default=str) != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


# -- scoring ---------------------------------------------------------------------------------
@dataclass
class _FieldTally:
    schema: SchemaField | None
    expected: list[Any]
    answered: list[Any]


def score_answers(evaluated_model: str, items: Sequence[EvaluationItem], answers: Sequence[str]) -> ModelScore:
    if len(items) != len(answers):
        raise ValueError(f"{len(answers)} answers for {len(items)} evaluation pairs.")
    tallies: dict[str, _FieldTally] = {}
    scored, valid = [], 0
    for item, answer in zip(items, answers, strict=True):
        expected = _expected_fields(item)
        if expected is None:
            said = {TEXT_FIELD: answer.strip()}
            expected = {TEXT_FIELD: item.expected.strip()}
            valid += bool(answer.strip())
            schema: dict[str, SchemaField] = {}
        else:
            schema = {f.name: f for f in item.schema}
            parsed = parse_output(answer, item.schema).value
            said = parsed or {}
            valid += parsed is not None
        names = list(schema) or list(expected)
        correct = True
        for name in names:
            if expected.get(name) is None:
                continue  # the expert left it empty: nothing to score
            tally = tallies.setdefault(name, _FieldTally(schema.get(name), [], []))
            tally.expected.append(expected[name])
            tally.answered.append(said.get(name))
            correct &= _normalised(expected[name]) == _normalised(said.get(name))
        scored.append(AnswerScore(item.pair_id, item.expected, answer, correct))
    fields = tuple(_field_score(name, tally) for name, tally in tallies.items())
    n = len(items)
    return ModelScore(
        evaluated_model,
        accuracy=sum(a.correct for a in scored) / n if n else 0.0,
        f1_score=sum(f.f1 for f in fields) / len(fields) if fields else 0.0,
        valid_output_rate=valid / n if n else 0.0,
        fields=fields,
        answers=tuple(scored),
    )


def _field_score(name: str, tally: _FieldTally) -> FieldScore:
    pairs = list(zip(tally.expected, tally.answered, strict=True))
    exact = sum(_normalised(e) == _normalised(a) for e, a in pairs) / len(pairs)
    schema = tally.schema
    if schema is not None and schema.choices:
        return FieldScore(name, exact, macro_f1(tally.expected, tally.answered), len(pairs), "macro_f1")
    if (schema is None and all(isinstance(e, str) for e in tally.expected)) or (schema is not None and schema.type is FieldType.STRING):
        return FieldScore(name, exact, sum(token_f1(e, a) for e, a in pairs) / len(pairs), len(pairs), "token_f1")
    return FieldScore(name, exact, exact, len(pairs), "exact_match")


def compare(items: Sequence[EvaluationItem], base_answers: Sequence[str], tuned_answers: Sequence[str]) -> Comparison:
    return Comparison(score_answers("base", items, base_answers), score_answers("fine_tuned", items, tuned_answers))
