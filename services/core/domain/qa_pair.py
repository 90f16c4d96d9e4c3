"""Training Sheets and their Q&A pairs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.core.domain.governance import UsageConstraints


class PairStatus(StrEnum):
    UNLABELED = "unlabeled"
    LABELED = "labeled"
    REJECTED = "rejected"
    FLAGGED = "flagged"


class LabelingMode(StrEnum):
    AI_GENERATED = "ai_generated"
    MANUAL = "manual"
    EXISTING_COLUMN = "existing_column"
    CANONICAL = "canonical"  # reused from a canonical label, pre-approved


class TrainingSheetStatus(StrEnum):
    GENERATING = "generating"
    REVIEW = "review"
    APPROVED = "approved"
    TRAINED = "trained"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Message:
    role: str
    content: str


def messages_to_json(messages: tuple[Message, ...]) -> str:
    return json.dumps([{"role": m.role, "content": m.content} for m in messages], ensure_ascii=False)


def messages_from_json(text: str | None) -> tuple[Message, ...]:
    return tuple(Message(m["role"], m["content"]) for m in json.loads(text or "[]"))


@dataclass(frozen=True)
class QaPair:
    id: str
    training_sheet_id: str
    sheet_id: str
    item_ref: str
    ordinal: int
    label_type: str
    messages: tuple[Message, ...]
    status: str
    labeling_mode: str
    constraints: UsageConstraints
    original_response: str | None = None
    media_refs: tuple[str, ...] = ()
    canonical_label_id: str | None = None
    ai_confidence: float | None = None
    quality_score: float | None = None
    generation_error: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_notes: str | None = None
    updated_at: datetime | None = None
    row_version: int = 1
    feedback_id: str | None = None  # the production feedback this pair was made from (IMPROVE)

    @property
    def response(self) -> str:
        return next((m.content for m in reversed(self.messages) if m.role == "assistant"), "")

    @property
    def prompt_messages(self) -> tuple[Message, ...]:
        """The messages the model answered (everything before the final response)."""
        has_response = bool(self.messages) and self.messages[-1].role == "assistant"
        return self.messages[:-1] if has_response else self.messages

    @property
    def pre_approved(self) -> bool:
        """Labeled from a canonical label at generation, and nobody has reviewed it since."""
        return self.labeling_mode == LabelingMode.CANONICAL and self.status == PairStatus.LABELED and not self.reviewed_by


@dataclass(frozen=True)
class PairCounts:
    total: int = 0
    unlabeled: int = 0
    labeled: int = 0
    rejected: int = 0
    flagged: int = 0
    canonical: int = 0  # labeled because a canonical label already existed, and not reviewed since
    from_source_column: int = 0  # labeled because a trusted source column held the answer, not reviewed since

    @property
    def approved_in_review(self) -> int:
        """Labeled by a reviewer (one by one or in bulk): every labeled pair that did not arrive so."""
        return self.labeled - self.canonical - self.from_source_column

    @property
    def needs_review(self) -> int:
        return self.unlabeled + self.rejected + self.flagged


@dataclass(frozen=True)
class TrainingSheet:
    id: str
    name: str
    sheet_id: str
    template_id: str
    template_version: str
    label_type: str
    labeling_mode: str
    status: str
    generation_config: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None
    created_by: str = ""
    created_at: datetime | None = None
    generation_completed_at: datetime | None = None
    row_version: int = 1
    counts: PairCounts = field(default_factory=PairCounts)
