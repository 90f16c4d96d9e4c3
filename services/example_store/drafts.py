"""Checking an example a person wrote, and deriving one from an approved pair."""

from __future__ import annotations

import json
from typing import Any

from services.core.domain.qa_pair import messages_from_json
from services.core.errors import ValidationError
from services.example_store.records import MAX_SCORE, MIN_SCORE, ExampleDraft

# An example is shown inside a prompt: longer than this crowds out the item it is meant to help.
MAX_TEXT_CHARS = 20_000
MAX_SEARCH_KEYS = 20


def checked_draft(draft: ExampleDraft) -> ExampleDraft:
    """The draft with whitespace trimmed; ValidationError names what is wrong."""
    text_in, text_out = draft.input.strip(), draft.expected_output.strip()
    if not text_in:
        raise ValidationError("An example needs an input.")
    if not text_out:
        raise ValidationError("An example needs an expected output.")
    for name, text in (("input", text_in), ("expected output", text_out), ("explanation", draft.explanation)):
        if len(text) > MAX_TEXT_CHARS:
            raise ValidationError(f"The {name} is {len(text):,} characters; at most {MAX_TEXT_CHARS:,} fit in a prompt.")
    keys = tuple(dict.fromkeys(k.strip() for k in draft.search_keys if k.strip()))
    if len(keys) > MAX_SEARCH_KEYS:
        raise ValidationError(f"At most {MAX_SEARCH_KEYS} search keys.")
    quality = draft.quality_score
    if quality is not None and not MIN_SCORE <= float(quality) <= MAX_SCORE:
        raise ValidationError(f"Quality score must be between {MIN_SCORE:g} and {MAX_SCORE:g}, got {quality}.")
    return ExampleDraft(
        text_in, text_out, draft.explanation.strip(), keys, (draft.function_name or "").strip() or None,
        (draft.domain or "").strip() or None, None if quality is None else float(quality),
    )


def embedded_text(draft: ExampleDraft) -> str:
    """What retrieval compares a query with: the input, and the search keys that name it."""
    return "\n".join([draft.input, *draft.search_keys])


def draft_from_pair(row: dict[str, Any], function_name: str | None, domain: str | None) -> ExampleDraft | None:
    """The user turns as input and the answer as expected output; None when the pair has neither."""
    try:
        messages = messages_from_json(row["messages"])
    except (ValueError, KeyError, TypeError):
        messages = ()
    user = "\n\n".join(m.content for m in messages if m.role == "user").strip()
    answer = next((m.content for m in reversed(messages) if m.role == "assistant"), None) or row.get("original_response") or ""
    if not user or not str(answer).strip():
        return None
    quality = row.get("quality_score")
    return ExampleDraft(user[:MAX_TEXT_CHARS], _compact(str(answer))[:MAX_TEXT_CHARS], "", (), function_name, domain,
                        None if quality is None else min(MAX_SCORE, max(MIN_SCORE, float(quality))))


def _compact(answer: str) -> str:
    """A JSON answer in one canonical spelling, so an unchanged label does not read as an edit."""
    try:
        return json.dumps(json.loads(answer), ensure_ascii=False, sort_keys=True)
    except ValueError:
        return answer.strip()
