"""The template library: search, filters and the table. The selected template follows `?template=<id>`."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from services.core.domain.template import Template, TemplateStatus

QUERY_PARAM = "template"


@dataclass(frozen=True)
class LibraryQuery:
    search: str
    status: TemplateStatus | None
    label_type: str | None


def filters(label_types: list[str], key: str = "template_library") -> LibraryQuery:
    search, status, label_type = st.columns([3, 1, 1])
    text = search.text_input("Search", key=f"{key}_search", placeholder="Name or description")
    chosen_status = status.selectbox(
        "Status", [None, *TemplateStatus], key=f"{key}_status", format_func=lambda s: "Any" if s is None else s.value
    )
    chosen_type = label_type.selectbox(
        "Label type", [None, *label_types], key=f"{key}_label_type", format_func=lambda t: "Any" if t is None else t
    )
    return LibraryQuery(text, chosen_status, chosen_type)


def show(templates: list[Template], key: str = "template_library") -> str | None:
    """The table; returns the id of the selected template (any version, by deep link)."""
    if not templates:
        st.info("No templates match. Create one below, or clear the search and filters.")
        return selected()
    frame = pd.DataFrame(
        {
            "Name": [t.name for t in templates],
            "Label type": [t.label_type for t in templates],
            "Version": [t.version for t in templates],
            "Status": [t.status.value for t in templates],
            "Base model": [t.base_model for t in templates],
            "Updated by": [t.updated_by for t in templates],
            "Updated": [t.updated_at for t in templates],
        }
    )
    event = st.dataframe(frame, key=key, hide_index=True, on_select="rerun", selection_mode="single-row", width="stretch")
    row = newly_picked(event.selection.rows if event is not None else [], key)
    if row is not None and row < len(templates):
        select(templates[row].id)
    return selected()


def newly_picked(rows: list[int], key: str) -> int | None:
    """The row a person just clicked, or None. A selection left over from before is not a new pick,
    so an action that selects another template (duplicate, new version) is not undone by it."""
    state = f"{key}_picked_rows"
    previous = st.session_state.get(state, [])
    st.session_state[state] = list(rows)
    return rows[0] if rows and list(rows) != previous else None


def selected() -> str | None:
    return st.query_params.get(QUERY_PARAM)


def select(template_id: str | None) -> None:
    """Point the deep link at a template (or at none)."""
    if template_id:
        st.query_params[QUERY_PARAM] = template_id
    else:
        st.query_params.pop(QUERY_PARAM, None)
