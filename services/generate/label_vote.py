"""The vote of an item's nearest labeled items: which label they propose, and by what share.

A label that is a flat object of single values (a classification: defect type and severity)
is voted on field by field, so a draft can be right about the defect type where no neighbour
carries exactly its combination of type and severity; any other label (entities, boxes,
prose) is voted on whole. Nearer items weigh more.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.generate.draft_calibration import label_key

NEIGHBOURS = 5  # labeled items that vote on a draft: one neighbour gives no graded score


@dataclass(frozen=True)
class Vote:
    key: str  # the drafted label, as label_key gives it
    text: str  # the response proposed
    share: float  # of the vote's weight the drafted label won: the raw score
    values: tuple[str, ...] = ()  # each field's drafted value as JSON, when voted field by field


@dataclass(frozen=True)
class ExpertLabels:
    """The experts' labels of the labeled items, in their order, whole and field by field."""

    responses: tuple[str, ...]
    keys: tuple[str, ...]
    fields: tuple[str, ...]  # empty: the whole label is voted on
    values: tuple[tuple[str, ...], ...]  # per label, each field's value as JSON

    @classmethod
    def of(cls, responses: Sequence[str]) -> ExpertLabels:
        keys = tuple(label_key(r) for r in responses)
        objects = [_flat_object(r) for r in responses]
        first = objects[0] if objects else None
        names = tuple(first) if first is not None else ()
        if not names or any(o is None or set(o) != set(names) for o in objects):
            return cls(tuple(responses), keys, (), ())
        values = tuple(tuple(json.dumps(o[n], sort_keys=True) for n in names) for o in objects if o is not None)
        return cls(tuple(responses), keys, names, values)

    def __len__(self) -> int:
        return len(self.keys)

    def answers(self, column: int | None) -> list[str]:
        """Every label's answer: one field's value, or (None) the whole label."""
        return list(self.keys) if column is None else [v[column] for v in self.values]

    @property
    def columns(self) -> tuple[int | None, ...]:
        """What is voted on: each field, or the whole label."""
        return tuple(range(len(self.fields))) if self.fields else (None,)

    def majority_share(self, column: int | None) -> float:
        answers = self.answers(column)
        return Counter(answers).most_common(1)[0][1] / len(answers) if answers else 0.0

    def nearest(self, distances: np.ndarray, skip: int | None = None) -> tuple[list[int], np.ndarray]:
        """The nearest labeled items (ties in distance go to the earlier item) and their weights."""
        order = [int(i) for i in np.argsort(distances, kind="stable")[: NEIGHBOURS + 1] if i != skip][:NEIGHBOURS]
        return order, 1.0 / (1.0 + np.sqrt(distances[order]))

    def vote_on(self, column: int | None, distances: np.ndarray, skip: int | None = None) -> str:
        """What the nearest items say for one field (or the whole label)."""
        order, weights = self.nearest(distances, skip)
        answers = self.answers(column)
        return _weighted_choice([answers[i] for i in order], weights)[0]

    def vote(self, distances: np.ndarray, skip: int | None = None) -> Vote:
        order, weights = self.nearest(distances, skip)
        if not self.fields:
            best, share = _weighted_choice([self.keys[i] for i in order], weights)
            nearest = next(i for i in order if self.keys[i] == best)
            return Vote(best, self.responses[nearest], share)
        chosen, share = [], 1.0
        for column in range(len(self.fields)):
            value, field_share = _weighted_choice([self.values[i][column] for i in order], weights)
            chosen.append(value)
            share *= field_share
        draft = {name: json.loads(value) for name, value in zip(self.fields, chosen, strict=True)}
        text = next((self.responses[i] for i in order if list(self.values[i]) == chosen), json.dumps(draft, ensure_ascii=False))
        return Vote(label_key(text), text, share, tuple(chosen))


def _flat_object(response: str) -> dict[str, Any] | None:
    try:
        value = json.loads(response)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(value, dict) or not value or any(isinstance(v, dict | list) for v in value.values()):
        return None
    return value


def _weighted_choice(candidates: list[str], weights: np.ndarray) -> tuple[str, float]:
    """The candidate with the most weight (on a tie, the one nearest first) and its share of the weight."""
    totals: dict[str, float] = {}
    for candidate, weight in zip(candidates, weights, strict=True):
        totals[candidate] = totals.get(candidate, 0.0) + float(weight)
    best = max(totals, key=lambda c: (totals[c], -candidates.index(c)))
    return best, totals[best] / sum(totals.values())
