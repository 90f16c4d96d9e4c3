"""TRAIN export records: the split a person asks for, the gate counts, and an export version.

An export version is immutable and numbered per set of Training Sheets. The trainer consumes
an `ExportVersion`: its two JSONL files on a volume and, from the store, the exact pair ids of
each split (`TrainingExportsStore.pair_ids`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

TRAIN_FILE = "train.jsonl"
VALIDATION_FILE = "validation.jsonl"
MANIFEST_FILE = "manifest.json"
MAX_VALIDATION_FRACTION = 0.5  # beyond half, the "validation" set is the training set
MAX_SEED = 2**31 - 1


class Split(StrEnum):
    TRAIN = "train"
    VALIDATION = "validation"


class Stratify(StrEnum):
    FIELD = "field"  # by the value of a categorical output field (a label value)
    RESPONSE = "response"  # by a hash of the whole response: identical answers stay together
    NONE = "none"  # a plain seeded random split


@dataclass(frozen=True)
class SplitConfig:
    validation_fraction: float = 0.2
    seed: int = 42
    stratify: Stratify = Stratify.RESPONSE
    stratify_field: str = ""  # with Stratify.FIELD: the output field whose value is the label
    oversample: bool = False  # copy the train pairs of minority label values up to the majority

    def to_json(self) -> dict[str, Any]:
        return {
            "validation_fraction": self.validation_fraction, "seed": self.seed, "stratify": self.stratify.value,
            "stratify_field": self.stratify_field, "oversample": self.oversample,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SplitConfig:
        return cls(
            validation_fraction=float(data.get("validation_fraction", 0.2)), seed=int(data.get("seed", 42)),
            stratify=Stratify(data.get("stratify", Stratify.RESPONSE.value)), stratify_field=str(data.get("stratify_field") or ""),
            oversample=bool(data.get("oversample", False)),
        )

    def describe(self) -> str:
        by = {Stratify.FIELD: f"stratified by {self.stratify_field}", Stratify.RESPONSE: "stratified by response", Stratify.NONE: "not stratified"}
        extra = " · minority label values oversampled" if self.oversample else ""
        return f"{1 - self.validation_fraction:.0%} / {self.validation_fraction:.0%} · seed {self.seed} · {by[self.stratify]}{extra}"


@dataclass(frozen=True)
class ProhibitionReason:
    """Labeled pairs the training gate keeps out, grouped by why (usage reason and classification)."""

    reason: str
    classification: str
    pairs: int

    @property
    def short(self) -> str:
        """The reason's headline ("Contains PHI - HIPAA compliance" → "Contains PHI")."""
        head = self.reason.split(" - ", 1)[0].strip()
        return head or f"no reason given ({self.classification or 'unclassified'})"


@dataclass(frozen=True)
class GateCounts:
    """What the dual gates make of a set of pairs."""

    total: int = 0
    labeled: int = 0
    training_allowed: int = 0
    validation_allowed: int = 0
    unlabeled: int = 0
    rejected: int = 0
    flagged: int = 0
    reasons: tuple[ProhibitionReason, ...] = ()

    @property
    def training_prohibited(self) -> int:
        return self.labeled - self.training_allowed

    @property
    def excluded_by_status(self) -> int:
        return self.total - self.labeled

    @property
    def reasons_line(self) -> str:
        """"38 Contains PHI · 12 Held-out test set": the prohibited pairs by headline reason."""
        totals: dict[str, int] = {}
        for reason in self.reasons:
            totals[reason.short] = totals.get(reason.short, 0) + reason.pairs
        return " · ".join(f"{n:,} {short}" for short, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total, "labeled": self.labeled, "training_allowed": self.training_allowed,
            "training_prohibited": self.training_prohibited, "validation_allowed": self.validation_allowed,
            "unlabeled": self.unlabeled, "rejected": self.rejected, "flagged": self.flagged,
            "reasons": [{"reason": r.reason, "classification": r.classification, "pairs": r.pairs} for r in self.reasons],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GateCounts:
        return cls(
            *(int(data.get(k, 0)) for k in ("total", "labeled", "training_allowed", "validation_allowed", "unlabeled", "rejected", "flagged")),
            reasons=tuple(ProhibitionReason(r["reason"], r["classification"], int(r["pairs"])) for r in data.get("reasons", ())),
        )


@dataclass(frozen=True)
class ExportSummary:
    """Gate counts of the chosen Training Sheets together and of each one."""

    total: GateCounts
    by_sheet: Mapping[str, GateCounts] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.total.to_json(), "by_training_sheet": {k: v.to_json() for k, v in self.by_sheet.items()}}


@dataclass(frozen=True)
class ExportVersion:
    id: str
    version: int
    training_sheet_ids: tuple[str, ...]
    directory: str  # /Volumes/<catalog>/<schema>/<volume>/exports/<id>
    split_config: SplitConfig
    oversample_copies: Mapping[str | None, int]  # label value → lines per train pair (1 when not oversampled)
    gate_counts: GateCounts
    train_count: int
    validation_count: int
    train_lines: int  # train pairs with their copies
    skipped_count: int  # passed a gate but could not be written (unreadable messages)
    train_sha256: str
    validation_sha256: str
    manifest_sha256: str
    job_id: str | None
    created_by: str
    created_at: datetime | None

    @property
    def train_path(self) -> str:
        return f"{self.directory}/{TRAIN_FILE}"

    @property
    def validation_path(self) -> str:
        return f"{self.directory}/{VALIDATION_FILE}"

    @property
    def manifest_path(self) -> str:
        return f"{self.directory}/{MANIFEST_FILE}"
