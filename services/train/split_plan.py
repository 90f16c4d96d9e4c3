"""The train/validation split: seeded, stratified by label value, gated per split.

A pair allowed for training only can only train; one allowed for validation only can only
validate. Of the pairs allowed for both, each stratum (label value) sends to validation the
ones with the smallest seeded draws, as many as bring the stratum's validation share closest
to the fraction asked. The counts and cut points come from one SQL aggregate (export_sql);
deciding one pair is a comparison with its stratum's cut, so pages can be decided as they
stream without holding the others.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any

from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import PairStatus
from services.train.export_records import Split, SplitConfig, Stratify
from services.train.export_sql import LIST_SEPARATOR

MAX_OVERSAMPLE_COPIES = 10  # beyond this a model memorises a few examples rather than learning their class
MAX_STRATA = 1000  # more distinct values than this is free text, not a label to stratify on


@dataclass(slots=True)
class ExportCandidate:
    """A pair that passes at least one of the two gates, as one page of the export reads it.

    Made for every pair of an export (100,000 in a second), so it is a plain slotted record and
    pairs with the same constraints share one UsageConstraints.
    """

    id: str
    training_sheet_id: str
    ordinal: int
    messages: str
    media_refs: tuple[str, ...]
    status: str
    constraints: UsageConstraints
    train_ok: bool
    validation_ok: bool
    draw: str
    readable: bool
    stratum: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ExportCandidate:
        """A row of export_sql's candidate queries (arrays joined by LIST_SEPARATOR)."""
        media = row["media_refs"]
        return cls(
            row["id"], row["training_sheet_id"], row["ordinal"], row["messages"] or "", tuple(media.split(LIST_SEPARATOR)) if media else (),
            row["status"], _constraints(row["allowed_uses"] or "", row["prohibited_uses"] or ""),
            row["train_ok"] == 1, row["validation_ok"] == 1, row["draw"], row["readable"] == 1, row["stratum"],
        )

    def permitted(self, split: Split) -> bool:
        """The dual gate again, in Python, on the row as read: governance fails closed."""
        use = "training" if split is Split.TRAIN else "validation"
        return self.status == PairStatus.LABELED and self.constraints.permits(use)


@functools.lru_cache(maxsize=1024)
def _constraints(allowed: str, prohibited: str) -> UsageConstraints:
    return UsageConstraints(tuple(filter(None, allowed.split(LIST_SEPARATOR))), tuple(filter(None, prohibited.split(LIST_SEPARATOR))))


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

    def split_of(self, candidate: ExportCandidate) -> Split:
        if candidate.train_ok and candidate.validation_ok:
            plan = self.stratum(candidate.stratum)
            cut = plan.cut if plan is not None else None
            return Split.VALIDATION if cut is not None and (candidate.draw, candidate.id) <= cut else Split.TRAIN
        return Split.TRAIN if candidate.train_ok else Split.VALIDATION

    def copies_of(self, candidate: ExportCandidate, split: Split) -> int:
        if split is Split.VALIDATION:
            return 1  # validation measures the data as it is: never oversampled
        plan = self.stratum(candidate.stratum)
        return plan.copies if plan is not None else 1

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
