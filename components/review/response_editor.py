"""The pair's response in an editor: checked against the template's output schema as you go,
with a diff against what the model first answered once it differs."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from services.core.domain.qa_pair import QaPair

EDITOR_HEIGHT = 160


@dataclass(frozen=True)
class EditorState:
    text: str
    edited: bool  # differs from the pair's stored response
    problems: tuple[str, ...]  # what stops this text from being approved


def editor_key(key: str, pair: QaPair) -> str:
    # A new key per pair version: after an action or an undo the editor shows the stored answer.
    return f"{key}_{pair.id}_{pair.row_version}"


def revert(key: str, pair: QaPair) -> None:
    st.session_state.pop(editor_key(key, pair), None)


def current_text(key: str, pair: QaPair) -> str:
    """What the editor holds now (the stored response until someone types)."""
    return str(st.session_state.get(editor_key(key, pair), pair.response))


def _pretty(text: str) -> list[str]:
    """JSON laid out one field per line, so a diff points at the field that changed."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False).splitlines()
    except ValueError:
        return text.splitlines()


def diff(before: str, after: str) -> str:
    return "\n".join(difflib.unified_diff(_pretty(before), _pretty(after), "model response", "reviewed response", lineterm=""))


def show(key: str, pair: QaPair, problems_of: Callable[[str], list[str]]) -> EditorState:
    # A text carried over from the review form is already in session state: the widget takes it from there.
    start = {} if editor_key(key, pair) in st.session_state else {"value": pair.response}
    text = st.text_area(
        "Response", key=editor_key(key, pair), height=EDITOR_HEIGHT, **start,
        help="Edit the answer, then Save edit & approve (E). JSON is checked against the template's output schema.",
    )
    edited = text != pair.response
    problems = tuple(problems_of(text))
    if problems:
        (st.error if edited else st.warning)(" ".join(problems), icon=":material/data_object:")
    show_diff(pair, text)
    return EditorState(text, edited, problems)


def show_diff(pair: QaPair, text: str) -> None:
    """What `text` changes in the model's original response, once it changes anything."""
    original = pair.original_response if pair.original_response is not None else pair.response
    if text != original and original.strip():
        st.caption("Changes against the model's original response")
        st.code(diff(original, text) or "(only whitespace differs)", language="diff")
