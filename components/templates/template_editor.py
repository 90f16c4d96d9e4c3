"""The form for a template draft. Returns a draft when the person saves; checks the prompt as they type.

A service's ValidationError for a save goes back through `reporting(key)`, and shows next to the
field it names on the rerun (the form keeps what was typed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import streamlit as st

from components.feedback import shown_errors
from components.text import code
from services.core.domain.sheet import Sheet
from services.core.domain.template import (
    DEFAULT_MAX_TOKENS,
    FewShotExample,
    FieldType,
    SchemaField,
    TemplateDraft,
)
from services.core.errors import ValidationError
from services.templates.prompt_templates import MAX_RETRIEVED_EXAMPLES, MAX_TEMPERATURE, MAX_TOKENS_LIMIT
from services.templates.rendering import RESERVED_NAMES, check_placeholders, compile_template

_SCHEMA_COLUMNS = {
    "name": st.column_config.TextColumn("Field", required=True),
    "type": st.column_config.SelectboxColumn("Type", options=[t.value for t in FieldType], default="string", required=True),
    "required": st.column_config.CheckboxColumn("Required", default=True),
    "choices": st.column_config.TextColumn("Choices", help="Allowed values, separated by commas"),
    "description": st.column_config.TextColumn("Description"),
}
_EXAMPLE_COLUMNS = {
    "input": st.column_config.TextColumn("Input (JSON object of placeholder values)", required=True, width="large"),
    "output": st.column_config.TextColumn("Expected output", required=True, width="large"),
}


def show(
    key: str,
    initial: TemplateDraft | None,
    sheets: list[Sheet],
    columns_of: Callable[[str], list[str]],
    label_types: list[str],
    submit_label: str = "Save draft",
) -> TemplateDraft | None:
    initial = initial or TemplateDraft(name="", label_type="classification")
    _error(key, None)
    name = st.text_input("Name", value=initial.name, key=f"{key}_name", on_change=_clear_error, args=(key,), max_chars=120)
    _error(key, "name")
    description = st.text_area("Description", value=initial.description, key=f"{key}_description", on_change=_clear_error, args=(key,), height=68)
    left, right = st.columns(2)
    types = list(dict.fromkeys([*label_types, initial.label_type]))
    label_type = left.selectbox(
        "Label type", types, index=types.index(initial.label_type), key=f"{key}_label_type", on_change=_clear_error, args=(key,), accept_new_options=True,
        help="The task: canonical labels are kept per label type, so a template's labels are reused by others of its type.",
    )
    sheet_ids = [None, *(s.id for s in sheets)]
    names = {s.id: s.name for s in sheets}
    sheet_id = right.selectbox(
        "Source sheet", sheet_ids, index=sheet_ids.index(initial.source_sheet_id) if initial.source_sheet_id in sheet_ids else 0,
        format_func=lambda i: "None" if i is None else names[i], key=f"{key}_sheet", on_change=_clear_error, args=(key,),
        help="Placeholders are checked against this sheet's columns.",
    )
    with left:
        _error(key, "label_type")
    with right:
        _error(key, "source_sheet_id")
    system_prompt = st.text_area("System prompt", value=initial.system_prompt, key=f"{key}_system", on_change=_clear_error, args=(key,), height=100,
                                 help="Sent as written; item data never reaches it.")
    _error(key, "system_prompt")
    prompt = st.text_area(
        "User prompt", value=initial.user_prompt_template, key=f"{key}_prompt", on_change=_clear_error, args=(key,), height=150,
        help="Jinja2: {{ column }} inserts an item's value, and {{ row[\"state code\"] }} any column, whatever its name; "
             "{% if %} and {% for %} work too. Also: item_ref, media.",
    )
    _live_check(key, prompt or "", sheet_id, columns_of)
    input_schema = _schema_editor("Input schema", initial.input_schema, f"{key}_input_schema", key)
    _error(key, "input_schema")
    output_schema = _schema_editor("Output schema", initial.output_schema, f"{key}_output_schema", key)
    _error(key, "output_schema")
    model, temperature, max_tokens = st.columns([2, 1, 1])
    base_model = model.text_input("Base model", value=initial.base_model, key=f"{key}_base_model", on_change=_clear_error, args=(key,),
                                  placeholder="databricks-meta-llama-3-3-70b-instruct")
    temperature_value = temperature.number_input("Temperature", 0.0, MAX_TEMPERATURE, float(initial.temperature), 0.1,
                                                 key=f"{key}_temperature", on_change=_clear_error, args=(key,))
    max_tokens_value = max_tokens.number_input("Max tokens", 1, MAX_TOKENS_LIMIT, int(initial.max_tokens or DEFAULT_MAX_TOKENS),
                                               key=f"{key}_max_tokens", on_change=_clear_error, args=(key,))
    _error(key, "temperature")
    _error(key, "max_tokens")
    examples = _examples_editor(initial.examples, f"{key}_examples", key)
    _error(key, "examples")
    retrieved_k = st.number_input(
        "Retrieved examples per item", 0, MAX_RETRIEVED_EXAMPLES, int(initial.retrieved_examples_k), key=f"{key}_retrieved_k",
        on_change=_clear_error, args=(key,),
        help="Dynamic few-shot: this many Example Store examples of this label type (function name), nearest each item "
             "and passing the few-shot gate at that moment, go after the fixed examples. 0: the fixed examples only.",
    )
    _error(key, "retrieved_examples_k")
    if not st.button(submit_label, type="primary", key=f"{key}_submit", icon=":material/save:"):
        return None
    _clear_error(key)
    if input_schema is None or output_schema is None or examples is None:
        return None
    return TemplateDraft(
        name=name or "",
        label_type=str(label_type or ""),
        description=description or "",
        system_prompt=system_prompt or "",
        user_prompt_template=prompt or "",
        input_schema=input_schema,
        output_schema=output_schema,
        base_model=base_model or "",
        temperature=float(temperature_value),
        max_tokens=int(max_tokens_value),
        examples=examples,
        source_sheet_id=sheet_id,
        retrieved_examples_k=int(retrieved_k),
    )


@contextmanager
def reporting(key: str) -> Iterator[None]:
    """Save a draft: a ValidationError shows next to the field it names (after a rerun); others as usual."""
    with shown_errors():
        try:
            yield
        except ValidationError as error:
            st.session_state[f"{key}_error"] = (error.field, str(error))
            st.rerun()


def _clear_error(key: str) -> None:
    """An edit answers the last error; it stays only until the person changes something."""
    st.session_state.pop(f"{key}_error", None)


def _error(key: str, field: str | None) -> None:
    stored = st.session_state.get(f"{key}_error")
    if stored and stored[0] == field:
        st.error(stored[1], icon=":material/error:")


def _live_check(key: str, prompt: str, sheet_id: str | None, columns_of: Callable[[str], list[str]]) -> None:
    """Errors in the prompt show as it is typed, before any save."""
    try:
        used = compile_template(prompt, "user_prompt_template").placeholders
        if sheet_id:
            check_placeholders(prompt, columns_of(sheet_id))
    except ValidationError as error:
        st.error(str(error), icon=":material/error:")
        return
    _error(key, "user_prompt_template")
    if used:
        shown = ", ".join(code(name) for name in sorted(used))
        reserved = " (item_ref and media come with every item)" if used & RESERVED_NAMES else ""
        st.caption(f"Placeholders: {shown}{reserved}")


def _schema_editor(title: str, fields: tuple[SchemaField, ...], key: str, form_key: str) -> tuple[SchemaField, ...] | None:
    st.markdown(f"**{title}**")
    frame = pd.DataFrame(
        [
            {"name": f.name, "type": f.type.value, "required": f.required, "choices": ", ".join(f.choices),
             "description": f.description}
            for f in fields
        ],
        columns=list(_SCHEMA_COLUMNS),
    )
    edited = st.data_editor(frame, key=key, num_rows="dynamic", hide_index=True, column_config=_SCHEMA_COLUMNS, width="stretch",
                            on_change=_clear_error, args=(form_key,))
    try:
        return tuple(_schema_field(row) for row in edited.to_dict("records") if _text(row.get("name")))
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        return None


def _schema_field(row: dict[str, Any]) -> SchemaField:
    kind = _text(row.get("type")) or FieldType.STRING.value
    if kind not in {t.value for t in FieldType}:
        raise ValueError(f"'{kind}' is not a field type; use one of {', '.join(t.value for t in FieldType)}.")
    choices = tuple(c.strip() for c in _text(row.get("choices")).split(",") if c.strip())
    required = row.get("required")
    return SchemaField(_text(row.get("name")), FieldType(kind), _text(row.get("description")),
                       True if _missing(required) else bool(required), choices)


def _examples_editor(examples: tuple[FewShotExample, ...], key: str, form_key: str) -> tuple[FewShotExample, ...] | None:
    st.markdown("**Few-shot examples**")
    frame = pd.DataFrame(
        [{"input": json.dumps(e.input, ensure_ascii=False, default=str), "output": e.output} for e in examples],
        columns=list(_EXAMPLE_COLUMNS),
    )
    edited = st.data_editor(frame, key=key, num_rows="dynamic", hide_index=True, column_config=_EXAMPLE_COLUMNS, width="stretch",
                            on_change=_clear_error, args=(form_key,))
    parsed = []
    for number, row in enumerate(edited.to_dict("records"), start=1):
        text, output = _text(row.get("input")), _text(row.get("output"))
        if not text and not output:
            continue
        try:
            values = json.loads(text or "{}")
        except ValueError as error:
            st.error(f"Example {number}: the input is not valid JSON ({error.msg}, column {error.colno}).", icon=":material/error:")
            return None
        if not isinstance(values, dict):
            st.error(f"Example {number}: the input must be a JSON object, like {{\"vendor\": \"Acme\"}}.", icon=":material/error:")
            return None
        parsed.append(FewShotExample(values, output))
    return tuple(parsed)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _text(value: Any) -> str:
    return "" if _missing(value) else str(value).strip()
