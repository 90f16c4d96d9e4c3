"""Reviewing Q&A pairs (LABEL, Mode A): what a review action changes and how it is recorded."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.core.domain.canonical_label import CanonicalLabel
from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import QaPair


class ReviewAction(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"  # edited, then approved
    REJECT = "reject"
    FLAG = "flag"
    BULK_APPROVE = "bulk_approve"
    BULK_REJECT = "bulk_reject"
    UNDO = "undo"
    RESOLVE_DUPLICATES = "resolve_duplicates"  # a near-duplicate group: one kept, the rest rejected


# The actions "Undo" can take back: one pair each, with the state before them recorded.
UNDOABLE = (ReviewAction.APPROVE, ReviewAction.EDIT, ReviewAction.REJECT, ReviewAction.FLAG)
BULK_ACTIONS = (ReviewAction.BULK_APPROVE, ReviewAction.BULK_REJECT)


@dataclass(frozen=True)
class QueueFilter:
    """Which pairs of a Training Sheet a reviewer works through. Empty means "any"."""

    statuses: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()  # labeling modes
    confidence_min: float | None = None  # a bound excludes pairs without an AI confidence
    confidence_max: float | None = None
    permitted_use: str | None = None  # pairs the dual gate lets be used for this: approved AND permitted
    prohibited_use: str | None = None  # pairs the dual gate refuses for this: not approved, or not permitted
    data_classification: str | None = None
    search: str = ""  # in the prompt, the response and the item ref, case-insensitively
    pre_approved: bool = False  # only pairs pre-approved from canonical labels and not reviewed since
    from_feedback: bool = False  # only pairs IMPROVE made from production feedback
    signal: str | None = None  # only pairs a LABEL signal of this kind flags (services/core/domain/signals.py)

    def to_json(self) -> str:
        return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> QueueFilter:
        data = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def describe(self) -> str:
        parts = ["pre-approved from canonical labels"] if self.pre_approved else []
        if self.statuses:
            parts.append("status " + " or ".join(self.statuses))
        if self.modes:
            parts.append("mode " + " or ".join(self.modes))
        if self.confidence_min is not None:
            parts.append(f"AI confidence ≥ {self.confidence_min:g}")
        if self.confidence_max is not None:
            parts.append(f"AI confidence ≤ {self.confidence_max:g}")
        if self.permitted_use:
            parts.append(f"usable for {self.permitted_use}")
        if self.prohibited_use:
            parts.append(f"not usable for {self.prohibited_use}")
        if self.data_classification:
            parts.append(f"classified {self.data_classification}")
        if self.search:
            parts.append(f"containing “{self.search}”")
        if self.signal:
            parts.append(f"flagged by the {self.signal} signal")
        return ", ".join(parts) or "all pairs"


@dataclass(frozen=True)
class SeenLabel:
    """The item's canonical label of the pair's label type as the reviewer's card read it (None
    inside: it had none). An approval carries its version instead of reading the label again, so
    a label someone changed since is refused with their name, not overwritten (invariant 7)."""

    label: CanonicalLabel | None


@dataclass(frozen=True)
class PairReviewState:
    """The fields of a pair a review action changes, as stored (so an undo can put them back)."""

    status: str
    # JSON text, as in qa_pairs.messages; None when the action leaves the response as it is
    # (then neither it nor original_response is written, recorded or put back by an undo).
    messages: str | None
    original_response: str | None
    canonical_label_id: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_notes: str | None

    @classmethod
    def of(cls, pair: QaPair, messages_json: str | None) -> PairReviewState:
        return cls(
            pair.status, messages_json, pair.original_response, pair.canonical_label_id, pair.reviewed_by,
            pair.reviewed_at, pair.review_notes,
        )


@dataclass(frozen=True)
class LabelChange:
    """What an approval did to the item's canonical label: version before (0: none) and after."""

    label_id: str
    version_before: int
    version_after: int


@dataclass(frozen=True)
class UndoRecord:
    """review_events.previous_state of a single-pair action: enough to take it back exactly."""

    pair: PairReviewState
    row_version_after: int  # the pair's row_version the action wrote; undo requires it unchanged
    label: LabelChange | None = None

    def to_json(self) -> str:
        data = asdict(self)
        reviewed_at = self.pair.reviewed_at
        data["pair"]["reviewed_at"] = reviewed_at.isoformat() if reviewed_at else None
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> UndoRecord:
        data: dict[str, Any] = json.loads(text)
        pair = dict(data["pair"])
        pair["reviewed_at"] = datetime.fromisoformat(pair["reviewed_at"]) if pair.get("reviewed_at") else None
        label = data.get("label")
        return cls(PairReviewState(**pair), int(data["row_version_after"]), LabelChange(**label) if label else None)


@dataclass(frozen=True)
class ReviewEvent:
    id: str
    training_sheet_id: str
    qa_pair_id: str | None
    action: str
    actor: str
    created_at: datetime | None
    new_status: str | None = None
    note: str | None = None
    bulk_filter: str | None = None  # the queue filter of a bulk action, as JSON
    affected_count: int | None = None
    previous_state: str | None = None  # an UndoRecord as JSON (single-pair actions)
    undone_at: datetime | None = None


@dataclass(frozen=True)
class ReviewOutcome:
    """A pair after a review action, and its canonical label when the action wrote one."""

    pair: QaPair
    event_id: str
    label: CanonicalLabel | None = None


@dataclass(frozen=True)
class ConstraintAudit:
    id: str
    qa_pair_id: str | None
    canonical_label_id: str | None
    old: UsageConstraints | None  # None: the change made a new label, which had no constraints before
    new: UsageConstraints
    reason: str
    modified_by: str
    modified_at: datetime | None


@dataclass(frozen=True)
class ReviewerCount:
    reviewer: str
    labeled: int
    rejected: int
    flagged: int

    @property
    def total(self) -> int:
        return self.labeled + self.rejected + self.flagged
