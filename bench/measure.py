"""Measurement records and helpers shared by the benchmark cases.

Absolute times move 1.5-2× between machines (and more on a loaded one), so a speed case also
measures, in the same run, the floor it stands on (the cheapest thing the engine can do that
the case must at least do: a raw single-row UPDATE, one plain INSERT … SELECT, rendering
alone, an unfiltered page) and states a goal as a ratio to that floor. A reader can then tell
a slow machine (floor and case slow together, ratio met) from a slow program (ratio missed).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

REPORTED = "reported (no goal)"


@dataclass(frozen=True)
class Floor:
    """What a case stands on, measured in the same run, and the case's value as a multiple of it."""

    what: str
    value: float  # in the case's unit
    ratio: float  # the case's cost ÷ the floor's cost (higher is slower)
    goal: str
    met: bool


@dataclass(frozen=True)
class Measurement:
    case: str
    value: float
    unit: str
    goal: str
    met: bool
    detail: str = ""
    floors: tuple[Floor, ...] = ()

    @property
    def all_met(self) -> bool:
        return self.met and all(f.met for f in self.floors)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def at_most(case: str, value: float, limit: float, unit: str, detail: str = "") -> Measurement:
    return Measurement(case, round(value, 3), unit, f"≤ {limit:g} {unit}", value <= limit, detail)


def at_least(case: str, value: float, floor: float, unit: str, detail: str = "") -> Measurement:
    return Measurement(case, round(value, 3), unit, f"≥ {floor:g} {unit}", value >= floor, detail)


def reported(case: str, value: float, unit: str, detail: str = "") -> Measurement:
    """A figure with no goal of its own: shown so a reader knows its cost."""
    return Measurement(case, round(value, 3), unit, REPORTED, True, detail)


def over_floor(measurement: Measurement, what: str, floor: float, max_ratio: float, higher_is_better: bool = False) -> Measurement:
    """The measurement with a floor beside it: its cost as a multiple of the floor's, at most
    `max_ratio`. For a rate (higher is better) the cost is the time per unit, so the ratio is
    floor ÷ value; for a time it is value ÷ floor."""
    value = measurement.value
    ratio = (floor / value if value else float("inf")) if higher_is_better else (value / floor if floor else float("inf"))
    added = Floor(what, round(floor, 3), round(ratio, 2), f"≤ {max_ratio:g}×", ratio <= max_ratio)
    return replace(measurement, floors=(*measurement.floors, added))


def timings_ms(action: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def paired_timings_ms(
    floor: Callable[[], object], action: Callable[[], object], repeat: int, warmup: int = 3, between: Callable[[], object] | None = None,
) -> tuple[list[float], list[float]]:
    """The floor and the action timed one after the other, `repeat` times: both see the same
    moments of the machine's load, so their ratio holds where their absolute times do not.
    `between` runs untimed after each action (what a page does before the next action)."""
    floors, actions = [], []
    for i in range(warmup + repeat):
        start = time.perf_counter()
        floor()
        middle = time.perf_counter()
        action()
        end = time.perf_counter()
        if between is not None:
            between()
        if i >= warmup:
            floors.append((middle - start) * 1000)
            actions.append((end - middle) * 1000)
    return floors, actions


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 20 else max(samples)


def median(samples: list[float]) -> float:
    return statistics.median(samples)
