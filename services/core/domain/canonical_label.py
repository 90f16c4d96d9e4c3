"""Canonical labels: an expert's ground truth for one source item and one label type."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.core.domain.governance import UsageConstraints

# Ids are derived from the composite key, so two writers creating the same label at the
# same moment collide on the primary key instead of creating two labels (invariant 1).
_LABEL_NAMESPACE = uuid.UUID("5b0e1c3e-8d0a-4c2f-9a57-2f1c6c1f0a11")
TEXT_KEY = "text"  # label_data of a free-text label: {"text": "..."}


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ChangeKind(StrEnum):
    CREATE = "create"
    EDIT = "edit"
    REVIEW = "review"  # approved or edited through a Q&A pair (Mode A)
    ROLLBACK = "rollback"
    IMPORT = "import"


@dataclass(frozen=True)
class LabelKey:
    sheet_id: str
    item_ref: str
    label_type: str

    @property
    def label_id(self) -> str:
        return str(uuid.uuid5(_LABEL_NAMESPACE, f"{self.sheet_id}\x1f{self.item_ref}\x1f{self.label_type}"))


@dataclass(frozen=True)
class LabelContent:
    label_data: dict[str, Any]
    confidence: str = Confidence.HIGH.value
    notes: str = ""
    constraints: UsageConstraints = field(default_factory=UsageConstraints)


@dataclass(frozen=True)
class CanonicalLabel:
    id: str
    key: LabelKey
    content: LabelContent
    version: int
    labeled_by: str
    labeled_at: datetime | None
    last_modified_by: str
    last_modified_at: datetime | None

    @property
    def label_data(self) -> dict[str, Any]:
        return self.content.label_data

    @property
    def constraints(self) -> UsageConstraints:
        return self.content.constraints


@dataclass(frozen=True)
class LabelVersion:
    label_id: str
    version: int
    content: LabelContent
    change_kind: str
    source_qa_pair_id: str | None
    modified_by: str
    modified_at: datetime | None


@dataclass(frozen=True)
class LabelAuthor:
    """Who made a label the version it is now, and when: what a pre-approved pair is marked with."""

    label_id: str
    by: str
    at: datetime | None
    version: int


@dataclass(frozen=True)
class ReusableLabel:
    """What a generated pair takes from a canonical label: its id, response and governance."""

    id: str
    response: str
    constraints: UsageConstraints


def label_data_from_response(text: str) -> dict[str, Any]:
    """A pair's response as label data: its JSON object, or the text itself."""
    stripped = (text or "").strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return {TEXT_KEY: text}
        if isinstance(value, dict):
            return value
    return {TEXT_KEY: text}


def response_from_label_json(text: str) -> str:
    """response_from_label_data for label data as stored (JSON text written by json.dumps).

    Stored JSON is already the response, except for a free-text label, which is unwrapped;
    skipping the parse matters when a generation reuses tens of thousands of labels.
    """
    if text.startswith('{"text": '):
        return response_from_label_data(json.loads(text))
    return text


def response_from_label_data(data: dict[str, Any]) -> str:
    """The assistant message a label stands for (the inverse of label_data_from_response)."""
    if set(data) == {TEXT_KEY} and isinstance(data[TEXT_KEY], str):
        return data[TEXT_KEY]
    return json.dumps(data, ensure_ascii=False, sort_keys=False)
