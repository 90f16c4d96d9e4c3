"""Which sheet and label type to label; both follow the `?sheet=<id>&label_type=<t>` deep link."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from services.core.domain.sheet import Sheet
from services.core.domain.template import is_valid_label_type

SHEET_PARAM, TYPE_PARAM, ITEM_PARAM = "sheet", "label_type", "item"
DEFAULT_LABEL_TYPE = "classification"


@dataclass(frozen=True)
class LabelingTarget:
    sheet: Sheet
    label_type: str


def show(sheets: list[Sheet], label_types_for: Callable[[str], list[str]], key: str = "labeling_target") -> LabelingTarget | None:
    if not sheets:
        st.info("No sheets yet. Create one on the Data page; its items can then be labeled here.")
        return None
    by_id = {s.id: s for s in sheets}
    wanted = st.query_params.get(SHEET_PARAM)
    sheet_column, type_column = st.columns([3, 2])
    sheet_id = sheet_column.selectbox(
        "Sheet", list(by_id), index=list(by_id).index(wanted) if wanted in by_id else 0,
        format_func=lambda i: by_id[i].name, key=f"{key}_sheet", on_change=_forget_item,
    )
    types = label_types_for(sheet_id)
    asked = st.query_params.get(TYPE_PARAM) or DEFAULT_LABEL_TYPE
    if not is_valid_label_type(asked):  # a look-alike such as 'classification\n' would start a labelset of its own
        st.warning(f"The link asks for label type {asked!r}, which cannot be one; showing {DEFAULT_LABEL_TYPE} instead.")
        asked = DEFAULT_LABEL_TYPE
    if asked not in types:
        types = [*types, asked]
    label_type = type_column.selectbox(
        "Label type", types, index=types.index(asked) if asked in types else 0, key=f"{key}_type_{sheet_id}",
        accept_new_options=True, on_change=_forget_item, help="Each label type is its own labelset; type a new one to start it.",
    )
    if not is_valid_label_type(label_type):
        st.error(f"'{label_type}' cannot be a label type: use lowercase letters, digits and underscores.")
        return None
    st.query_params[SHEET_PARAM] = sheet_id
    st.query_params[TYPE_PARAM] = label_type
    return LabelingTarget(by_id[sheet_id], label_type)


def switch_label_type(sheet_id: str, label_type: str, key: str = "labeling_target") -> None:
    """A callback (it runs before the widgets): label the same item with another label type."""
    st.session_state[f"{key}_type_{sheet_id}"] = label_type
    st.query_params[TYPE_PARAM] = label_type


def _forget_item() -> None:
    st.query_params.pop(ITEM_PARAM, None)


def item_ref() -> str | None:
    return st.query_params.get(ITEM_PARAM) or None


def open_item(ref: str | None) -> None:
    if ref:
        st.query_params[ITEM_PARAM] = ref
    else:
        st.query_params.pop(ITEM_PARAM, None)
