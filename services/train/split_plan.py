"""The train/validation split: seeded, stratified by label value, gated per split.

A pair allowed for training only can only train; one allowed for validation only can only
validate. Of the pairs allowed for both, each stratum (label value) sends to validation the
ones with the smallest seeded draws, as many as bring the stratum's validation share closest
to the fraction asked. The export decides each pair in the statement that writes it, with
window functions over its stratum (export_sql); the plan is the same decision aggregated per
stratum, for the class balance shown before an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.train.export_records import SplitConfig

MAX_STRATA = 1000  # more distinct values than this is free text, not a label to stratify on


@dataclass(frozen=True)
class StratumPlan:
    value: str | None  # the label value (None: the pair's answer has none)
    train_only: int
    validation_only: int
    both: int
    picks: int  # pairs allowed for both that go to validation
    copies: int = 1  # lines per train pair (oversampling)
    @property
    def train(self) -> int:
        return self.train_only + self.both - self.picks

    @property
    def validation(self) -> int:
        return self.validation_only + self.picks

    @property
    def train_lines(self) -> int:
        return self.train * self.copies


@dataclass(frozen=True)
class SplitPlan:
    config: SplitConfig
    strata: tuple[StratumPlan, ...]
    _by_value: dict[str | None, StratumPlan] = field(init=False, repr=False, compare=False)

    @classmethod
    def from_rows(cls, config: SplitConfig, rows: list[dict[str, Any]]) -> SplitPlan:
        return cls(config, tuple(
            StratumPlan(
                r["stratum"], int(r["train_only"]), int(r["validation_only"]), int(r["both_uses"]), int(r["picks"] or 0),
                int(r["copies"] or 1),
            )
            for r in rows
        ))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_value", {s.value: s for s in self.strata})

    def stratum(self, value: str | None) -> StratumPlan | None:
        return self._by_value.get(value)

    @property
    def pairs(self) -> int:
        return sum(s.train + s.validation for s in self.strata)

    @property
    def train(self) -> int:
        return sum(s.train for s in self.strata)

    @property
    def validation(self) -> int:
        return sum(s.validation for s in self.strata)

    @property
    def train_lines(self) -> int:
        return sum(s.train_lines for s in self.strata)

