"""IMPROVE's domain records: feedback on a logged prediction, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class FeedbackKind(StrEnum):
    RATING = "rating"  # thumbs up or down, perhaps with a comment
    CORRECTION = "correction"  # the answer the model should have given
    LOW_CONFIDENCE = "low_confidence"  # entered the queue by itself: the model was unsure


class FeedbackOrigin(StrEnum):
    PLAYGROUND = "playground"
    MONITOR = "monitor"
    API = "api"
    LOW_CONFIDENCE = "low_confidence"


class FeedbackStatus(StrEnum):
    OPEN = "open"
    ADDED_TO_TRAINING_SHEET = "added_to_training_sheet"
    LABEL_UPDATED = "label_updated"
    FLAGGED = "flagged"  # for a senior expert
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class NewFeedback:
    """What a person (or the low-confidence rule) says about one inference-log row."""

    inference_log_id: str
    kind: FeedbackKind
    origin: FeedbackOrigin
    created_by: str
    value: str | None = None  # "up" | "down" for a rating; a correction is a thumbs down with the right answer
    correction: str | None = None  # the answer as the model's output schema wants it (JSON when it has one)
    comment: str | None = None


@dataclass(frozen=True)
class Feedback:
    id: str
    inference_log_id: str
    endpoint_name: str
    deployment_id: str | None
    model_name: str | None
    model_version: str | None
    request_id: str | None
    trace_id: str | None
    kind: FeedbackKind
    origin: FeedbackOrigin
    value: str | None
    correction: str | None
    comment: str | None
    status: FeedbackStatus
    training_sheet_id: str | None
    qa_pair_id: str | None
    flag_note: str | None
    created_by: str
    created_at: datetime
    updated_by: str | None
    updated_at: datetime | None
    version: int

    @property
    def model_id(self) -> str | None:
        return f"{self.model_name}/{self.model_version}" if self.model_name and self.model_version else None
