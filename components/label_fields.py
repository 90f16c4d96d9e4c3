"""The inputs of a label schema: one per field (radios or a dropdown for choices, text, numbers,
lists), or one text, or a JSON object, or the boxes drawn on the item's image. The Canonical
Labeling Tool and LABEL show the same inputs for the same schema.

The inputs collect what the person typed; turning it into label data and checking it is the
service's job (`services.labels.label_schemas`), so the same rules hold for every form and for
imports. `entered` reads the same values from session state, for a button callback that runs
before the form is drawn again.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from services.core.domain.template import FieldType, SchemaField
from services.labels.label_schemas import BOXES_KEY, FormKind, LabelSchema

RADIO_CHOICES = 4  # up to this many choices show as radio buttons, more as a dropdown
LONG_TEXT = 80  # a value longer than this gets a text area
TEXT_LABELS = {"qa": "Ideal answer", "generation": "Expected output", "summarization": "Summary"}
JSON_FIELD = "json"


def _field_key(key: str, name: str) -> str:
    return f"{key}_{name}"


def show(schema: LabelSchema, data: dict[str, Any], key: str, boxes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Draws the inputs, starting from `data`; returns what they hold (raw, not yet typed or checked)."""
    if schema.kind is FormKind.BOXES:
        drawn = boxes or []
        st.markdown(f"**{len(drawn)} box(es)** drawn on the image." if drawn else "No boxes drawn: saving says there is nothing to localize.")
        return {BOXES_KEY: drawn}
    if schema.kind is FormKind.JSON:
        return {JSON_FIELD: st.text_area("Label (a JSON object)", value=_initial_json(data), height=200, key=_field_key(key, JSON_FIELD))}
    if schema.kind is FormKind.TEXT:
        field = schema.fields[0]
        label = TEXT_LABELS.get(schema.label_type, "Answer")
        return {field.name: st.text_area(label, value=str(data.get(field.name) or ""), height=200, key=_field_key(key, field.name))}
    return {field.name: _field_input(schema, field, data.get(field.name), _field_key(key, field.name)) for field in schema.fields}


def entered(schema: LabelSchema, data: dict[str, Any], key: str, boxes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the inputs drawn by `show` hold now, read from session state (the start value where
    an input has not been drawn yet)."""
    state = st.session_state
    if schema.kind is FormKind.BOXES:
        return {BOXES_KEY: boxes or []}
    if schema.kind is FormKind.JSON:
        return {JSON_FIELD: state.get(_field_key(key, JSON_FIELD), _initial_json(data))}
    if schema.kind is FormKind.TEXT:
        field = schema.fields[0]
        return {field.name: state.get(_field_key(key, field.name), str(data.get(field.name) or ""))}
    return {f.name: state.get(_field_key(key, f.name), _initial(f, data.get(f.name))) for f in schema.fields}


def forget(schema: LabelSchema, key: str) -> None:
    """Drop what the inputs hold, so the next `show` starts again from its data."""
    names = [JSON_FIELD, *(f.name for f in schema.fields)]
    for name in names:
        st.session_state.pop(_field_key(key, name), None)


def _initial_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) if data else ""


def _choices(field: SchemaField, value: Any) -> list[str]:
    choices = list(field.choices)
    if value is not None and str(value) not in choices:
        choices.append(str(value))
    return choices


def _is_list_of_scalars(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str | int | float) for v in value)


def _initial(field: SchemaField, value: Any) -> Any:
    """What the field's input starts with for a stored value (as its widget holds it)."""
    if field.choices and field.type is FieldType.STRING:
        return None if value is None else str(value)
    if field.type is FieldType.BOOLEAN:
        return None if value is None else bool(value)
    if field.type is FieldType.ARRAY:
        if value is None or _is_list_of_scalars(value):
            return ", ".join(str(v) for v in value or [])
        return json.dumps(value, ensure_ascii=False)
    if field.type is FieldType.OBJECT:
        return json.dumps(value, ensure_ascii=False) if value is not None else ""
    return "" if value is None else str(value)


def _field_input(schema: LabelSchema, field: SchemaField, value: Any, key: str) -> Any:
    label = field.name.replace("_", " ").capitalize() + (" *" if field.required else "")
    help_text = field.description or None
    start = _initial(field, value)
    if field.choices and field.type is FieldType.STRING:
        choices = _choices(field, value)
        index = choices.index(start) if start is not None else None
        if schema.closed_choices and len(choices) <= RADIO_CHOICES:
            return st.radio(label, choices, index=index, horizontal=True, key=key, help=help_text)
        return st.selectbox(label, choices, index=index, key=key, help=help_text, placeholder="Choose…",
                            accept_new_options=not schema.closed_choices)
    if field.type is FieldType.BOOLEAN:
        return st.selectbox(label, [True, False], index=None if start is None else [True, False].index(start),
                            format_func=lambda v: "yes" if v else "no", key=key, help=help_text, placeholder="Choose…")
    if field.type is FieldType.ARRAY:
        if value is None or _is_list_of_scalars(value):
            return st.text_input(label, value=start, key=key, help=(help_text or "") + " Separate values with commas.")
        return st.text_area(label, value=start, key=key, help=help_text)
    if field.type is FieldType.OBJECT:
        return st.text_area(label, value=start, key=key, help=help_text)
    placeholder = "a number" if field.type in (FieldType.NUMBER, FieldType.INTEGER) else None
    if field.type is FieldType.STRING and (len(start) > LONG_TEXT or schema.label_type in TEXT_LABELS):
        return st.text_area(label, value=start, key=key, help=help_text)
    return st.text_input(label, value=start, key=key, help=help_text, placeholder=placeholder)
