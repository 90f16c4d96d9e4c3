"""The pair's response as the schema's form: the inputs the Canonical Labeling Tool shows for
the same schema (choices as radios or dropdowns, text, numbers, lists, boxes drawn on the
image), with the JSON editor behind an "advanced" toggle.

The form's values live in session state under a key per pair version, so the review actions
(button callbacks, which run before the form is drawn again) read them with `text()`; an
action or an undo gives the next pair version fresh inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import box_drawer, label_fields
from components.review import response_editor
from components.review.response_editor import EditorState
from services.core.domain.qa_pair import QaPair
from services.core.domain.review import SeenLabel
from services.core.errors import ValidationError
from services.labels.label_schemas import BOXES_KEY, FormKind
from services.review.response_form import ResponseForm

ADVANCED_LABEL = "Edit as JSON (advanced)"


@dataclass(frozen=True)
class ReviewForm:
    """One pair's form as the card drew it: what the review actions read the response from."""

    form: ResponseForm
    pair: QaPair
    base: str  # the card's key for its response; the inputs' keys add the pair version to it
    drawing: bool  # boxes are drawn on the image beside the card
    seen: SeenLabel  # the item's canonical label as the card read it: an approval carries its version

    @property
    def key(self) -> str:
        """A key per pair version: after an action or an undo the form starts from the stored response."""
        return form_key(self.base, self.pair)

    @property
    def advanced(self) -> bool:
        return bool(st.session_state.get(_advanced_key(self.key))) or (self.form.schema.kind is FormKind.BOXES and not self.drawing)

    @property
    def values(self) -> dict[str, Any]:
        """The form's start values: the pair's response, or what the JSON editor held when it was switched off."""
        return st.session_state.get(_values_key(self.key), self.form.data)

    def boxes(self) -> list[dict[str, Any]]:
        return box_drawer.boxes(self.key)

    def text(self) -> str:
        """The response the form holds now; ValidationError for a value that cannot be read."""
        return response_editor.current_text(self.base, self.pair) if self.advanced else self.fields_text()

    def fields_text(self) -> str:
        """The response the form's inputs (not the JSON editor) stand for."""
        raw = label_fields.entered(self.form.schema, self.values, self.key, self.boxes())
        return self.form.response(raw, self.pair.response)

    def revert(self) -> None:
        """Back to the pair's stored response, in the form and in the JSON editor."""
        label_fields.forget(self.form.schema, self.key)
        st.session_state.pop(_values_key(self.key), None)
        response_editor.revert(self.base, self.pair)
        if self.drawing:
            box_drawer.set_boxes(self.key, self.form.data.get(BOXES_KEY) or [])


# The form's own keys take a ':' that no schema field name (key_<field>) has.
def _advanced_key(key: str) -> str:
    return f"{key}:advanced"


def _values_key(key: str) -> str:
    return f"{key}:values"


def form_key(key: str, pair: QaPair) -> str:
    return f"{key}_{pair.id}_{pair.row_version}"


def _switched(form: ReviewForm) -> None:
    """Carry the response across the toggle: the JSON editor starts from the form's values, and
    the form from the JSON (as far as it can be read)."""
    if st.session_state.get(_advanced_key(form.key)):
        try:
            text = form.fields_text()
        except ValidationError:
            text = form.pair.response
        st.session_state[response_editor.editor_key(form.base, form.pair)] = text
        return
    text = response_editor.current_text(form.base, form.pair)
    values = form.form.values_of(text)
    label_fields.forget(form.form.schema, form.key)
    st.session_state[_values_key(form.key)] = values
    if form.drawing:
        box_drawer.set_boxes(form.key, values.get(BOXES_KEY) or [])


def state(form: ReviewForm, review_problems: Callable[[str], list[str]]) -> EditorState:
    """What the form holds now, whether it differs from the stored response, and what stops it from being approved."""
    try:
        text = form.text()
    except ValidationError as error:
        return EditorState(form.pair.response, True, (str(error),))
    return EditorState(text, text != form.pair.response, tuple(review_problems(text)))


def show(form: ReviewForm, review_problems: Callable[[str], list[str]]) -> EditorState:
    """Draws the form (or the JSON editor); returns what it holds."""
    schema = form.form.schema
    if not (schema.kind is FormKind.BOXES and not form.drawing):
        st.toggle(ADVANCED_LABEL, key=_advanced_key(form.key), on_change=_switched, args=(form,),
                  help="The response as JSON text, checked against the template's output schema as you type.")
    if form.advanced:
        return response_editor.show(form.base, form.pair, review_problems)
    label_fields.show(schema, form.values, form.key, form.boxes())
    current = state(form, review_problems)
    if current.problems:
        (st.error if current.edited else st.warning)(" ".join(current.problems), icon=":material/data_object:")
    response_editor.show_diff(form.pair, current.text)
    return current
