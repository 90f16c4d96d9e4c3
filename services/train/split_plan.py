"""The train/validation split: seeded, stratified by label value, gated per split.

A pair allowed for training only can only train; one allowed for validation only can only
validate. Of the pairs allowed for both, each stratum (label value) sends to validation the
ones with the smallest seeded draws, as many as bring the stratum's validation share closest
to the fraction asked. The counts and cut points come from one SQL aggregate (export_sql);
deciding one pair is a comparison with its stratum's cut, bound into the page query, so pages
are decided in the engine as they stream without holding the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from services.train.export_records import SplitConfig, Stratify
from services.train.export_sql import NO_MATCH, stratum_key

MAX_OVERSAMPLE_COPIES = 10  # beyond this a model memorises a few examples rather than learning their class
MAX_STRATA = 1000  # more distinct values than this is free text, not a label to stratify on


@dataclass(frozen=True)
class StratumPlan:
    value: str | None  # the label value (None: the pair's answer has none)
    train_only: int
    validation_only: int
    both: int
    picks: int  # pairs allowed for both that go to validation
    cut: tuple[str, str] | None  # (draw, id) of the last one picked
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
        strata = tuple(
            StratumPlan(
                r["stratum"], int(r["train_only"]), int(r["validation_only"]), int(r["both_uses"]), int(r["picks"] or 0),
                (r["cut_draw"], r["cut_id"]) if r["cut_draw"] is not None else None,
            )
            for r in rows
        )
        return cls(config, _oversampled(strata) if config.oversample and config.stratify is Stratify.FIELD else strata)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_value", {s.value: s for s in self.strata})

    def stratum(self, value: str | None) -> StratumPlan | None:
        return self._by_value.get(value)

    def sql_params(self) -> dict[str, list[Any]]:
        """The plan as export_sql.page_sql binds it: each stratum's cut (draw||id of the last
        pair picked for validation) and its train copies, keyed by export_sql.stratum_key."""
        cut = [s for s in self.strata if s.cut is not None]
        copied = [s for s in self.strata if s.copies != 1]
        return {
            "cut_strata": [NO_MATCH, *(stratum_key(s.value) for s in cut)],
            "cut_keys": ["", *(f"{s.cut[0]}{s.cut[1]}" for s in cut if s.cut is not None)],
            "copy_strata": [NO_MATCH, *(stratum_key(s.value) for s in copied)],
            "copy_counts": [1, *(s.copies for s in copied)],
        }

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

    def copies_json(self) -> list[dict[str, Any]]:
        return [{"value": s.value, "copies": s.copies} for s in self.strata if s.copies != 1]


def _oversampled(strata: tuple[StratumPlan, ...]) -> tuple[StratumPlan, ...]:
    """Each label value's train pairs copied so it comes near the largest value's count."""
    largest = max((s.train for s in strata), default=0)
    return tuple(
        replace(s, copies=min(MAX_OVERSAMPLE_COPIES, max(1, math.floor(largest / s.train + 0.5)))) if s.train else s
        for s in strata
    )
