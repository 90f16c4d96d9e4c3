"""LABEL signals beside a pair: what a check found and why, never a decision about the pair."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.core.domain.qa_pair import Message, messages_from_json


class SignalKind(StrEnum):
    PII = "pii"
    DUPLICATE = "duplicate"
    QUALITY = "quality"


# What the queue filter offers, in a reviewer's words.
SIGNAL_FILTERS = {
    SignalKind.PII.value: "Personal data found",
    SignalKind.DUPLICATE.value: "Near-duplicate of another pair or label",
    SignalKind.QUALITY.value: "Quality concerns",
}


def content_hash(messages_json: str | None) -> str:
    """The hash a signal was computed for: SHA-256 of the pair's messages as stored (the same as
    SQL's `sha2(coalesce(messages, ''), 256)`), so a changed prompt or response reads as stale."""
    return hashlib.sha256((messages_json or "").encode("utf-8")).hexdigest()


def readable_messages(messages_json: str | None) -> tuple[Message, ...] | None:
    """A pair's chat messages, or None when the stored text is not chat JSON (a bad row breaks
    only its own signal, never the sheet's)."""
    try:
        return messages_from_json(messages_json) if messages_json else ()
    except (ValueError, TypeError, KeyError):
        return None


def last_content(messages: tuple[Message, ...] | None, role: str) -> str:
    return next((m.content for m in reversed(messages or ()) if m.role == role), "")


@dataclass(frozen=True)
class PairSignal:
    pair_id: str
    training_sheet_id: str
    kind: str
    content_hash: str
    flagged: bool  # the check found something a reviewer should look at
    reason: str  # in words, shown on the card
    details: dict[str, Any] = field(default_factory=dict)  # stored as JSON
    score: float | None = None
    group_id: str | None = None  # duplicates: the group the pair belongs to
    source: str = ""  # what computed it: rules, ai_mask, an embedding model, …
    computed_at: datetime | None = None
    pair_version: int | None = None  # the pair's row_version when computed (a cheap currency check)

    def details_json(self) -> str:
        return json.dumps(self.details, ensure_ascii=False, sort_keys=True)
