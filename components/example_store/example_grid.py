"""Browsing examples: the filters, and an AG Grid that sorts, filters and multi-selects client-side
(a few hundred rows with long texts, where a plain table's selection is one row). The example
shown in detail follows `?example=<id>`."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from st_aggrid import AgGrid, GridOptionsBuilder, GridUpdateMode

from services.example_store.records import Example, ExampleFilters

QUERY_PARAM = "example"
_TEXT_PREVIEW = 120  # characters of input/output in a grid cell; the detail shows all


def filters(domains: list[str], functions: list[str], key: str = "example_filters") -> ExampleFilters:
    domain, function, quality, effectiveness = st.columns([1, 2, 1, 1])
    chosen_domain = domain.selectbox("Domain", [None, *domains], key=f"{key}_domain", format_func=lambda d: "Any" if d is None else d)
    chosen_functions = function.multiselect("Function", functions, key=f"{key}_functions", placeholder="Any")
    min_quality = quality.number_input("Quality at least", 0.0, 1.0, None, 0.1, key=f"{key}_quality")
    min_effect = effectiveness.number_input("Effectiveness at least", -1.0, 1.0, None, 0.1, key=f"{key}_effectiveness")
    return ExampleFilters(tuple(chosen_functions), chosen_domain, min_quality, min_effect)


def frame(examples: list[Example]) -> pd.DataFrame:
    # The selection checkbox goes on the first column, so the visible Input leads and the id trails.
    return pd.DataFrame({
        "Input": [e.input[:_TEXT_PREVIEW] for e in examples],
        "Expected output": [e.expected_output[:_TEXT_PREVIEW] for e in examples],
        "Function": [e.function_name or "" for e in examples],
        "Domain": [e.domain or "" for e in examples],
        "Quality": [e.quality_score for e in examples],
        "Used": [e.usage_count for e in examples],
        "Effectiveness": [e.effectiveness_score for e in examples],
        "From": ["pair" if e.source_qa_pair_id else "authored" for e in examples],
        "id": [e.example_id for e in examples],
    })


def show(examples: list[Example], key: str = "example_grid") -> list[str]:
    """The grid; returns the ids of the selected rows (the first also becomes `?example=`)."""
    if not examples:
        st.info("No examples match. Add or upload some, sync a Training Sheet, or clear the filters.")
        return []
    data = frame(examples)
    options = GridOptionsBuilder.from_dataframe(data)
    options.configure_default_column(filter=True, sortable=True, resizable=True)
    options.configure_column("id", hide=True)
    options.configure_selection("multiple", use_checkbox=True)
    grid = AgGrid(data, gridOptions=options.build(), update_mode=GridUpdateMode.SELECTION_CHANGED, key=key, height=320)
    picked = getattr(grid, "selected_rows", None)
    ids = [] if picked is None or len(picked) == 0 else [str(i) for i in picked["id"]]
    if ids and ids[0] != selected():
        select(ids[0])
    return ids


def selected() -> str | None:
    return st.query_params.get(QUERY_PARAM)


def select(example_id: str | None) -> None:
    if example_id is None:
        st.query_params.pop(QUERY_PARAM, None)
    else:
        st.query_params[QUERY_PARAM] = example_id
