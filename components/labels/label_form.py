"""The label form for one label type: one input per schema field (or a text, or a JSON object),
confidence, notes and usage constraints, saved with Save (Ctrl+Enter).

The form collects what the person typed; turning it into label data and checking it is the
service's job (`services.labels.label_schemas`), so the same rules hold for the form and for imports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import usage_constraints
from services.core.domain.canonical_label import CanonicalLabel, Confidence
from services.core.domain.governance import UsageConstraints
from services.core.domain.template import FieldType, SchemaField
from services.labels.label_schemas import BOXES_KEY, FormKind, LabelSchema

RADIO_CHOICES = 4  # up to this many choices show as radio buttons, more as a dropdown
SAVE_SHORTCUT = "Ctrl+Enter"
_CONFIDENCES = [c.value for c in Confidence]
_READ_KEY = "label_form_read"  # (label id, version read) of the label open in this session
_TEXT_LABELS = {"qa": "Ideal answer", "generation": "Expected output", "summarization": "Summary"}


@dataclass(frozen=True)
class LabelFormInput:
    raw: dict[str, Any]  # field name → what was entered (text, a choice, boxes), not yet typed or checked
    confidence: str
    notes: str
    constraints: UsageConstraints


def opened(label_id: str, current: CanonicalLabel | None) -> tuple[str, int]:
    """The form's key and the version the expert read when they opened this label. It stays with
    the form while they work on it, so a change someone else makes meanwhile is refused and shown,
    never overwritten; opening another label (or coming back later) reads afresh."""
    remembered = st.session_state.get(_READ_KEY)
    if not remembered or remembered[0] != label_id:
        remembered = (label_id, current.version if current else 0)
        st.session_state[_READ_KEY] = remembered
    return f"label_{label_id}_{remembered[1]}", remembered[1]


def forget() -> None:
    """After a save, a refused save or a rollback: the next run shows the label as it is then."""
    st.session_state.pop(_READ_KEY, None)


def show(
    schema: LabelSchema,
    current: CanonicalLabel | None,
    defaults: UsageConstraints,
    key: str,
    boxes: list[dict[str, Any]] | None = None,
) -> LabelFormInput | None:
    """The form; returns what was entered when the person saves, else None."""
    data = current.label_data if current else {}
    with st.form(key, border=True, enter_to_submit=False):
        st.caption(f"Form: {schema.source}.")
        raw = _inputs(schema, data, key, boxes)
        confidence = st.radio(
            "Confidence", _CONFIDENCES, index=_CONFIDENCES.index(current.content.confidence) if current else 0,
            format_func=str.title, horizontal=True, key=f"{key}_confidence",
        )
        notes = st.text_area("Notes", value=current.content.notes if current else "", height=80, key=f"{key}_notes",
                             placeholder="Your reasoning, for whoever reads this label next")
        initial = current.constraints if current else defaults
        st.markdown("**Usage constraints**" + ("" if current else " (from the source's Unity Catalog tags)"))
        usage_constraints.badges(initial)
        constraints = usage_constraints.editor(f"{key}_constraints", initial)
        saved = st.form_submit_button("Save label", type="primary", icon=":material/save:", shortcut=SAVE_SHORTCUT)
    if not saved:
        return None
    return LabelFormInput(raw, str(confidence), notes, constraints)


def _inputs(schema: LabelSchema, data: dict[str, Any], key: str, boxes: list[dict[str, Any]] | None) -> dict[str, Any]:
    if schema.kind is FormKind.BOXES:
        drawn = boxes or []
        st.markdown(f"**{len(drawn)} box(es)** drawn on the image." if drawn else "No boxes drawn: saving says there is nothing to localize.")
        return {BOXES_KEY: drawn}
    if schema.kind is FormKind.JSON:
        text = json.dumps(data, indent=2, ensure_ascii=False) if data else ""
        return {"json": st.text_area("Label (a JSON object)", value=text, height=200, key=f"{key}_json")}
    if schema.kind is FormKind.TEXT:
        field = schema.fields[0]
        label = _TEXT_LABELS.get(schema.label_type, "Answer")
        return {field.name: st.text_area(label, value=str(data.get(field.name) or ""), height=200, key=f"{key}_{field.name}")}
    return {field.name: _field_input(schema, field, data.get(field.name), f"{key}_{field.name}") for field in schema.fields}


def _field_input(schema: LabelSchema, field: SchemaField, value: Any, key: str) -> Any:
    label = field.name.replace("_", " ").capitalize() + (" *" if field.required else "")
    help_text = field.description or None
    if field.choices and field.type is FieldType.STRING:
        choices = list(field.choices)
        if value is not None and str(value) not in choices:
            choices.append(str(value))
        index = choices.index(str(value)) if value is not None else None
        if schema.closed_choices and len(choices) <= RADIO_CHOICES:
            return st.radio(label, choices, index=index, horizontal=True, key=key, help=help_text)
        return st.selectbox(label, choices, index=index, key=key, help=help_text, placeholder="Choose…",
                            accept_new_options=not schema.closed_choices)
    if field.type is FieldType.BOOLEAN:
        return st.selectbox(label, [True, False], index=None if value is None else [True, False].index(bool(value)),
                            format_func=lambda v: "yes" if v else "no", key=key, help=help_text, placeholder="Choose…")
    if field.type is FieldType.ARRAY:
        simple = isinstance(value, list) and all(isinstance(v, str | int | float) for v in value)
        if value is None or simple:
            return st.text_input(label, value=", ".join(str(v) for v in value or []), key=key,
                                 help=(help_text or "") + " Separate values with commas.")
        return st.text_area(label, value=json.dumps(value, ensure_ascii=False), key=key, help=help_text)
    if field.type is FieldType.OBJECT:
        return st.text_area(label, value=json.dumps(value, ensure_ascii=False) if value is not None else "", key=key, help=help_text)
    placeholder = "a number" if field.type in (FieldType.NUMBER, FieldType.INTEGER) else None
    text = "" if value is None else str(value)
    if field.type is FieldType.STRING and (len(text) > 80 or schema.label_type in _TEXT_LABELS):
        return st.text_area(label, value=text, key=key, help=help_text)
    return st.text_input(label, value=text, key=key, help=help_text, placeholder=placeholder)
