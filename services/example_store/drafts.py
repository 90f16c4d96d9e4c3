"""Checking an example a person wrote, and deriving one from an approved pair."""

from __future__ import annotations

import json

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


def example_from_pair(messages_json: str | None, original_response: str | None, quality: float | None) -> tuple[str, str, float | None] | None:
    """(input, expected output, quality): the user turns as input and the answer as expected
    output; None when the pair has neither. Plain tuples: a sync derives 100,000 of them."""
    try:
        turns = [(m["role"], m["content"]) for m in json.loads(messages_json or "[]")]
    except (ValueError, KeyError, TypeError):
        turns = []
    user = "\n\n".join(content for role, content in turns if role == "user").strip()
    answer = next((content for role, content in reversed(turns) if role == "assistant"), None) or original_response or ""
    if not user or not str(answer).strip():
        return None
    return (user[:MAX_TEXT_CHARS], _compact(str(answer))[:MAX_TEXT_CHARS],
            None if quality is None else min(MAX_SCORE, max(MIN_SCORE, float(quality))))


def _compact(answer: str) -> str:
    """A JSON answer in one canonical spelling, so an unchanged label does not read as an edit."""
    try:
        return json.dumps(json.loads(answer), ensure_ascii=False, sort_keys=True)
    except ValueError:
        return answer.strip()
