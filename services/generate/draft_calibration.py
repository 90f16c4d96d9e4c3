"""What a draft's confidence means: how often drafts like it agreed with the experts.

A drafter's raw score (a vote share, a similarity) is not a confidence. Its calibration is
measured on the sheet's own canonical labels: each labeled item is drafted from the others
(leave-one-out), the drafts are sorted by raw score into bands, and a band's confidence is the
share of its drafts that named exactly the expert's label. A draft's confidence is the
measured agreement of its band, so "drafts at this confidence agreed with experts 62 % of the
time, on 70 labeled items" is a fact about this sheet, not a promise.

The drafter is compared with the simplest rival, always answering the most common label.
A drafter that does not beat it beyond what chance allows on that many labels (the lower end
of the 95 % Wilson interval of its agreement must pass the majority answer's), or that has too
few labels to be measured, offers no drafts.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from services.core.domain.qa_pair import TrainingSheet

# Fewer expert labels than this cannot say how often drafts agree: the drafter offers none.
MIN_LABELED = 10
# Each band's agreement is measured on at least this many labeled items (one draft more or
# less moves it by 10 points at most), and a sheet gets at most this many bands.
MIN_BAND_ITEMS = 10
MAX_BANDS = 5
Z_95 = 1.96  # two-sided 95 %: the drafter must beat the majority answer beyond the play of chance
_DIGITS = 4  # confidences are stored rounded; a band is found again by its rounded agreement
CONFIG_KEY = "draft_calibration"  # where a Training Sheet's generation_config keeps its drafter's record


def label_key(response: str) -> str:
    """The answer a response gives, for comparing two of them: JSON compared by value (key
    order and spacing do not matter), other text by its words."""
    text = (response or "").strip()
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return " ".join(text.split())
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Band:
    """Drafts whose raw score was from `min_score` up to the next band's: how many, how many agreed."""

    min_score: float
    max_score: float
    drafts: int
    agreed: int

    @property
    def agreement(self) -> float:
        return round(self.agreed / self.drafts, _DIGITS) if self.drafts else 0.0

    def merged(self, other: Band) -> Band:
        return Band(min(self.min_score, other.min_score), max(self.max_score, other.max_score),
                    self.drafts + other.drafts, self.agreed + other.agreed)


@dataclass(frozen=True)
class FieldRecord:
    """For a label of several fields: how often drafts named one field's value right, and how
    often answering its most common value would."""

    name: str
    agreed: int
    majority_agreed: int


@dataclass(frozen=True)
class DraftCalibration:
    """A drafter's record on one sheet and label type, measured leave-one-out."""

    drafter: str
    labeled: int  # expert labels measured on
    agreed: int  # drafts that named exactly the expert's label
    majority_label: str  # the most common expert label
    majority_agreed: int  # how often always answering it agreed
    bands: tuple[Band, ...]
    fields: tuple[FieldRecord, ...] = ()  # field by field, when the label is a flat object

    @property
    def accuracy(self) -> float:
        return self.agreed / self.labeled if self.labeled else 0.0

    @property
    def majority_accuracy(self) -> float:
        return self.majority_agreed / self.labeled if self.labeled else 0.0

    @property
    def offered(self) -> bool:
        """Drafts are offered, with a confidence, only when measured and surely better than the majority answer."""
        return self.labeled >= MIN_LABELED and wilson_lower_bound(self.agreed, self.labeled) > self.majority_accuracy

    def why_not_offered(self) -> str:
        if self.labeled < MIN_LABELED:
            return (
                f"only {self.labeled} item(s) of this type have an expert label; at least {MIN_LABELED} are needed "
                "to measure how often drafts agree with experts"
            )
        if self.offered:
            return ""
        return (
            f"on the {self.labeled} labeled items its drafts agreed with experts {self.accuracy:.0%} of the time, "
            f"against {self.majority_accuracy:.0%} for always answering the most common label; {self._shortfall()}"
        )

    def _shortfall(self) -> str:
        if self.agreed <= self.majority_agreed:
            return "that is no better"
        return f"on {self.labeled} items that difference could be chance"

    def band_for(self, score: float) -> Band:
        """The band a raw score falls in: the highest band whose lowest measured score it reaches."""
        found = self.bands[0]
        for band in self.bands[1:]:
            if score >= band.min_score:
                found = band
        return found

    def confidence(self, score: float) -> float | None:
        """The measured agreement of drafts at this raw score; None when drafts are not offered."""
        return self.band_for(score).agreement if self.offered and self.bands else None

    def band_of(self, confidence: float | None) -> Band | None:
        """The band a calibrated confidence came from (bands' agreements are distinct); None when unknown."""
        if confidence is None or not self.offered:
            return None
        return next((b for b in self.bands if b.agreement == round(confidence, _DIGITS)), None)

    def meaning(self, confidence: float | None) -> str:
        """A draft's confidence in words ("" when no measurement gave it)."""
        band = self.band_of(confidence)
        if band is None:
            return ""
        return f"drafts at this confidence agreed with experts {band.agreement:.0%} of the time, on {band.drafts} labeled items"

    def summary(self) -> str:
        """What the drafter's record is, beside the majority answer's, and whether it offers drafts."""
        if self.labeled < MIN_LABELED:
            return f"It offers no drafts: {self.why_not_offered()}."
        measured = (
            f"On the {self.labeled} items with an expert label, each drafted from the others, its drafts agreed with the "
            f"expert {self.accuracy:.0%} of the time; always answering the most common label would agree {self.majority_accuracy:.0%}."
        )
        if len(self.fields) > 1:
            by_field = ", ".join(
                f"{f.name} {f.agreed / self.labeled:.0%} (most common {f.majority_agreed / self.labeled:.0%})" for f in self.fields
            )
            measured = f"{measured} Field by field: {by_field}."
        if not self.offered:
            return f"{measured} It offers no drafts: {self._shortfall()}, and a suggestion that may be no better would mislead."
        return f"{measured} A draft's confidence is how often drafts at that confidence agreed."

    def to_json(self) -> dict[str, Any]:
        return {
            "drafter": self.drafter, "labeled": self.labeled, "agreed": self.agreed, "majority_label": self.majority_label,
            "majority_agreed": self.majority_agreed,
            "bands": [[b.min_score, b.max_score, b.drafts, b.agreed] for b in self.bands],
            "fields": [[f.name, f.agreed, f.majority_agreed] for f in self.fields],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DraftCalibration | None:
        if not data:
            return None
        return cls(
            str(data["drafter"]), int(data["labeled"]), int(data["agreed"]), str(data["majority_label"]),
            int(data["majority_agreed"]), tuple(Band(float(a), float(b), int(c), int(d)) for a, b, c, d in data["bands"]),
            tuple(FieldRecord(str(n), int(a), int(m)) for n, a, m in data.get("fields", ())),
        )


def calibrate(
    drafter: str, scores: Sequence[float], drafted: Sequence[str], expected: Sequence[str], fields: tuple[FieldRecord, ...] = ()
) -> DraftCalibration:
    """The calibration from leave-one-out drafts: each labeled item's raw score and drafted label
    key (drafted without it) beside its expert's label key."""
    if not len(scores) == len(drafted) == len(expected):
        raise ValueError("one score, one drafted label and one expert label per labeled item")
    agreed = [d == e for d, e in zip(drafted, expected, strict=True)]
    majority, majority_agreed = majority_baseline(expected)
    return DraftCalibration(drafter, len(expected), sum(agreed), majority, majority_agreed, _bands(scores, agreed), fields)


def field_record(name: str, drafted: Sequence[str], expected: Sequence[str]) -> FieldRecord:
    return FieldRecord(name, sum(d == e for d, e in zip(drafted, expected, strict=True)), majority_baseline(expected)[1])


def wilson_lower_bound(agreed: int, total: int, z: float = Z_95) -> float:
    """The lower end of the Wilson score interval of a rate: what the rate surely exceeds."""
    if total <= 0:
        return 0.0
    rate = agreed / total
    centre = rate + z * z / (2 * total)
    margin = z * math.sqrt(rate * (1 - rate) / total + z * z / (4 * total * total))
    return (centre - margin) / (1 + z * z / total)


def majority_baseline(expected: Sequence[str]) -> tuple[str, int]:
    """The most common label, and how many labeled items answering it every time would get
    right (counted on all of them, which flatters the baseline: the drafter must beat it)."""
    counts = Counter(expected)
    return counts.most_common(1)[0] if counts else ("", 0)


def _bands(scores: Sequence[float], agreed: Sequence[bool]) -> tuple[Band, ...]:
    """Quantile bands of raw scores (equal scores never split, each band at least MIN_BAND_ITEMS
    drafts), then adjacent bands pooled until agreement rises with the score: a higher raw
    score never gets a lower confidence."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    count = max(1, min(MAX_BANDS, len(order) // MIN_BAND_ITEMS))
    cuts = [0]
    for number in range(1, count):
        cut = round(number * len(order) / count)
        while cut < len(order) and scores[order[cut]] == scores[order[cut - 1]]:
            cut += 1
        if cut - cuts[-1] >= MIN_BAND_ITEMS and len(order) - cut >= MIN_BAND_ITEMS:
            cuts.append(cut)
    cuts.append(len(order))
    bands = []
    for start, end in pairwise(cuts):
        members = order[start:end]
        if members:
            bands.append(Band(scores[members[0]], scores[members[-1]], len(members), sum(agreed[i] for i in members)))
    return tuple(_monotone(bands))


def _monotone(bands: list[Band]) -> list[Band]:
    """Pool adjacent bands whose agreement does not rise (pool-adjacent-violators)."""
    pooled: list[Band] = []
    for band in bands:
        pooled.append(band)
        while len(pooled) > 1 and pooled[-2].agreed * pooled[-1].drafts >= pooled[-1].agreed * pooled[-2].drafts:
            last = pooled.pop()
            pooled.append(pooled.pop().merged(last))
    return pooled


def calibration_of(training_sheet: TrainingSheet) -> DraftCalibration | None:
    """The record of the drafter that drafted a Training Sheet; None when its confidences were not measured."""
    return calibration_in(training_sheet.generation_config)


def calibration_in(generation_config: dict[str, Any]) -> DraftCalibration | None:
    return DraftCalibration.from_json(generation_config.get(CONFIG_KEY))
