"""The offline drafter: for an item, the label its nearest labeled items carry, with a measured confidence.

It is not a language model and says so. Items are compared by what tells them apart (the
fields the template reads and the images' content, services/generate/item_features.py), each
weighted by how well it alone drafts the labeled items, so a field that does not help (a
batch number, the scanner used) does not drown one that does. The label the nearest labeled
items carry is the draft (services/generate/label_vote.py) and the share of the vote it won
is its raw score. The raw score becomes a confidence only through calibration
(services/generate/draft_calibration.py): every labeled item is drafted from the others, with
weights found without it, and a draft's confidence is how often drafts with a raw score like
its own named exactly the expert's label. When its drafts do not beat always answering the
most common label, or too few labels exist to tell, it offers no drafts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from services.generate.draft_calibration import DraftCalibration, calibrate, field_record
from services.generate.drafting import Draft, Drafter, DraftRequest
from services.generate.item_features import FeatureSpace, ItemInput
from services.generate.label_vote import NEIGHBOURS, ExpertLabels

# Labeled items the drafter draws on and is measured on (a fixed sample on a larger sheet):
# each is read, embedded and its image described once per run, and the leave-one-out
# measurement keeps one distance matrix per field (4 MB each at this size).
MAX_LABELED_EXAMPLES = 1000
DRAFT_CHUNK = 64  # items described and compared at once, so a cancel is seen between chunks
DRAFTER_NAME = "offline drafter"


@dataclass(frozen=True)
class LabeledExample:
    item: ItemInput
    response: str


def squared_distances(rows: np.ndarray, references: np.ndarray) -> np.ndarray:
    cross = rows @ references.T
    return np.maximum((rows**2).sum(axis=1)[:, None] + (references**2).sum(axis=1)[None, :] - 2 * cross, 0.0)


def block_skill(distances: Sequence[np.ndarray], labels: ExpertLabels) -> np.ndarray:
    """(blocks, items): the share of an item's fields that its block alone drafted right, from the others."""
    skill = np.zeros((len(distances), len(labels)), dtype=np.float64)
    for b, matrix in enumerate(distances):
        for column in labels.columns:
            answers = labels.answers(column)
            for i in range(len(labels)):
                skill[b, i] += labels.vote_on(column, matrix[i], skip=i) == answers[i]
    return skill / len(labels.columns)


def block_weights(skill: np.ndarray, baseline: float, without: int | None = None) -> np.ndarray:
    """Each block's weight: the square of how much better than the majority answer it alone
    drafts the labeled items (leaving out item `without`, so its own label does not choose its
    weights). Squared, so the most telling evidence leads and weaker evidence refines it (a
    one-number field pulls neighbours harder than the many numbers of an image descriptor).
    A block no better than the majority answer counts for nothing; when none is, all count alike."""
    totals, count = skill.sum(axis=1), skill.shape[1]
    if without is not None:
        totals, count = totals - skill[:, without], count - 1
    gain = np.clip(totals / max(count, 1) - baseline, 0.0, None) ** 2
    return gain / gain.sum() if gain.sum() > 0 else np.full(skill.shape[0], 1.0 / max(skill.shape[0], 1))


@dataclass(frozen=True)
class _Fitted:
    space: FeatureSpace
    weights: np.ndarray  # per block, from every labeled item
    references: np.ndarray  # the labeled items' weighted vectors
    labels: ExpertLabels
    calibration: DraftCalibration


def _weighted(weights: np.ndarray, blocks: list[np.ndarray]) -> np.ndarray:
    """One vector per item: each block scaled so its squared distances count by its weight."""
    return np.hstack([np.sqrt(w) * x for w, x in zip(weights, blocks, strict=True)]).astype(np.float32)


class NearestLabelDrafter(Drafter):
    name = "offline-drafter"

    def __init__(self, examples: Sequence[LabeledExample], fit: Callable[[list[ItemInput]], FeatureSpace]) -> None:
        self._examples = sorted(examples, key=lambda e: e.item.item_ref)
        self._fit = fit  # decides from the labeled items how items are compared
        self._fitted: _Fitted | None = None
        self._lock = threading.Lock()

    def _model(self) -> _Fitted:
        with self._lock:
            if self._fitted is None:
                self._fitted = self._fitted_model()
            return self._fitted

    def _fitted_model(self) -> _Fitted:
        items = [e.item for e in self._examples]
        space = self._fit(items)
        labels = ExpertLabels.of([e.response for e in self._examples])
        blocks = space.block_vectors(items)
        distances = [squared_distances(x, x) for x in blocks]
        # With one labeled item there is no other to draft it from: no block can show any skill.
        skill = block_skill(distances, labels) if len(labels) > 1 else np.zeros((len(blocks), len(labels)))
        baseline = float(np.mean([labels.majority_share(c) for c in labels.columns])) if len(labels) else 0.0
        weights = block_weights(skill, baseline)
        calibration = self._leave_one_out(distances, skill, baseline, labels)
        return _Fitted(space, weights, _weighted(weights, blocks), labels, calibration)

    @staticmethod
    def _leave_one_out(distances: list[np.ndarray], skill: np.ndarray, baseline: float, labels: ExpertLabels) -> DraftCalibration:
        """Each labeled item drafted from the others, with weights found without it, beside its expert's label."""
        keys = list(labels.keys)
        if len(keys) < 2:  # no other item to draft from: measured as never agreeing
            return calibrate(DRAFTER_NAME, [0.0] * len(keys), [""] * len(keys), keys)
        stacked = np.stack(distances)
        votes = [labels.vote(np.tensordot(block_weights(skill, baseline, without=i), stacked[:, i, :], axes=1), skip=i) for i in range(len(keys))]
        fields = tuple(
            field_record(name, [v.values[c] for v in votes], labels.answers(c)) for c, name in enumerate(labels.fields)
        )
        return calibrate(DRAFTER_NAME, [v.share for v in votes], [v.key for v in votes], keys, fields)

    @property
    def calibration(self) -> DraftCalibration:
        return self._model().calibration

    def describe(self) -> str:
        fitted = self._model()
        counted = sorted(zip(fitted.weights, fitted.space.descriptions, strict=True), reverse=True)
        used = ", ".join(f"{d} {w:.0%}" for w, d in counted if w > 0) if fitted.space.blocks else fitted.space.descriptions[0]
        unused = [d for w, d in counted if w == 0] + list(fitted.space.left_out)
        ignored = f" (no help: {', '.join(unused)})" if unused else ""
        return (
            f"Offline drafter (no language model): proposes for an item the label its {NEIGHBOURS} nearest items with an "
            f"expert label of this type carry, comparing {used}, each weighted by how well it alone drafts those items{ignored}. "
            f"{fitted.calibration.summary()}"
        )

    def draft(self, requests: list[DraftRequest], should_stop: Callable[[], bool] | None = None) -> Iterator[Draft]:
        fitted = self._model()
        if not fitted.calibration.offered:
            for request in requests:
                yield Draft(request.item_ref, None)  # the Training Sheet's calibration says why
            return
        position = {e.item.item_ref: i for i, e in enumerate(self._examples)}
        for start in range(0, len(requests), DRAFT_CHUNK):
            if should_stop is not None and should_stop():
                return
            chunk = requests[start : start + DRAFT_CHUNK]
            rows = _weighted(fitted.weights, fitted.space.block_vectors([ItemInput(r.item_ref, r.fields, r.image_paths) for r in chunk]))
            for request, distances in zip(chunk, squared_distances(rows, fitted.references), strict=True):
                vote = fitted.labels.vote(distances, skip=position.get(request.item_ref))
                yield Draft(request.item_ref, vote.text, None, fitted.calibration.confidence(vote.share))
