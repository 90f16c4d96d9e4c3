"""Measurement records and helpers shared by the benchmark cases."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Measurement:
    case: str
    value: float
    unit: str
    goal: str
    met: bool
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def at_most(case: str, value: float, limit: float, unit: str, detail: str = "") -> Measurement:
    return Measurement(case, round(value, 3), unit, f"≤ {limit:g} {unit}", value <= limit, detail)


def at_least(case: str, value: float, floor: float, unit: str, detail: str = "") -> Measurement:
    return Measurement(case, round(value, 3), unit, f"≥ {floor:g} {unit}", value >= floor, detail)


def timings_ms(action: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 20 else max(samples)


def median(samples: list[float]) -> float:
    return statistics.median(samples)
