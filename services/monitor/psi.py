"""Population stability index: how far a live distribution moved from the training one, over the
same bins. PSI = Σ (live share − training share) × ln(live share / training share).

The usual reading, kept as the thresholds: below 0.1 nothing moved that matters, 0.1 to 0.25 a
shift worth watching, 0.25 and above the population has moved."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PSI_WATCH = 0.1
PSI_MOVED = 0.25
# A bin empty on one side would make the logarithm infinite; a share this small stands in for it
# (the common choice: one empty bin then adds about 0.1 per 10 % of mass on the other side).
EMPTY_SHARE = 1e-4


def shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def psi(training: Sequence[int], live: Sequence[int]) -> float:
    if len(training) != len(live):
        raise ValueError(f"{len(live)} live bins against {len(training)} training bins.")
    expected, actual = shares(training), shares(live)
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, EMPTY_SHARE), max(a, EMPTY_SHARE)
        total += (a - e) * math.log(a / e)
    return total


@dataclass(frozen=True)
class DriftFinding:
    """One measure of drift with its threshold and what moved, in a sentence a manager can read."""

    measure: str  # e.g. "Predicted urgency", "Input total_amount", "Prompt text"
    method: str  # PSI, or mean embedding distance
    value: float
    threshold: float
    sentence: str
    live_count: int
    training_count: int

    @property
    def moved(self) -> bool:
        return self.value >= self.threshold


def verdict(value: float, threshold: float = PSI_MOVED, watch: float = PSI_WATCH) -> str:
    if value >= threshold:
        return "moved"
    return "shifted a little" if value >= watch else "is stable"


def biggest_moves(bins: Sequence[str], training: Sequence[int], live: Sequence[int], count: int = 2) -> str:
    """The bins whose share changed most, as "'urgent' 52 % of live against 20 % in training"."""
    expected, actual = shares(training), shares(live)
    order = sorted(range(len(bins)), key=lambda i: abs(actual[i] - expected[i]), reverse=True)[:count]
    return "; ".join(f"{bins[i]} {actual[i]:.0%} of live against {expected[i]:.0%} in training" for i in order)
