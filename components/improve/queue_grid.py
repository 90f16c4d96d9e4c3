"""The feedback queue: filters, and one AG Grid row per pattern (near-duplicate requests grouped),
highest impact first, multi-select to handle several patterns at once."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from st_aggrid import AgGrid, GridOptionsBuilder, GridUpdateMode

from services.improve.queue import CONFIRMED, UNSURE, WRONG, QueueFilters, QueueGroup
from services.improve.records import FeedbackKind, FeedbackStatus

_TEXT_PREVIEW = 120  # characters of a request or answer in a grid cell; the opened item shows all
_HEADER_PX, _ROW_PX, _MAX_HEIGHT = 60, 30, 360  # the grid's height grows with its rows up to ten or so
SEVERITY_NAMES = {WRONG: "wrong", UNSURE: "unsure", CONFIRMED: "confirmed"}
SEVERITY_RULE = (
    f"**Impact** = severity × how often similar requests occur. Severity: a correction or a thumbs down = {WRONG} "
    f"(the model was wrong), a low-confidence answer = {UNSURE} (it was unsure), a thumbs up = {CONFIRMED}. "
    "Requests alike in meaning are one row: handle the pattern once."
)


def filters(choices: dict[str, list[str]], key: str) -> QueueFilters:
    endpoint, version, value, kind, status = st.columns(5)
    any_of = {"format_func": lambda v: "Any" if v is None else str(v)}
    return QueueFilters(
        endpoint=endpoint.selectbox("Endpoint", [None, *choices["endpoint"]], key=f"{key}_endpoint", **any_of),
        model_version=version.selectbox("Version", [None, *choices["model_version"]], key=f"{key}_version", **any_of),
        value=value.selectbox("Value", [None, "down", "up"], key=f"{key}_value", **any_of),
        kind=kind.selectbox("Kind", [None, *FeedbackKind], key=f"{key}_kind", **any_of),
        status=status.selectbox("Status", [*FeedbackStatus, None], key=f"{key}_status", **any_of),
    )


def frame(groups: list[QueueGroup]) -> pd.DataFrame:
    leads = [g.lead for g in groups]
    return pd.DataFrame({
        "Impact": [g.impact for g in groups],
        "Severity": [SEVERITY_NAMES[g.severity] for g in groups],
        "Similar": [len(g.items) for g in groups],
        "Request": [i.request[:_TEXT_PREVIEW] for i in leads],
        "Answer": [(i.answer or "")[:_TEXT_PREVIEW] for i in leads],
        "Correction": [i.correction or "" for i in leads],
        "Kind": [i.kind.value for i in leads],
        "Endpoint": [i.endpoint_name for i in leads],
        "Version": [i.model_version or "" for i in leads],
        "Status": [i.status.value for i in leads],
        "When": [i.created_at.strftime("%Y-%m-%d %H:%M") for i in leads],
        "id": [i.id for i in leads],
    })


def show(groups: list[QueueGroup], key: str) -> list[QueueGroup]:
    """The grid; returns the selected patterns (kept in `{key}_picked` as their leads' ids)."""
    data = frame(groups)
    options = GridOptionsBuilder.from_dataframe(data)
    options.configure_default_column(filter=True, sortable=True, resizable=True)
    options.configure_column("id", hide=True)
    for column in ("Request", "Answer", "Correction"):
        options.configure_column(column, flex=2, minWidth=180)
    options.configure_column("Impact", minWidth=120)  # it also holds the selection checkbox
    for column in ("Severity", "Similar", "Kind", "Endpoint", "Version", "Status"):
        options.configure_column(column, minWidth=100)
    options.configure_selection("multiple", use_checkbox=True)
    height = min(_MAX_HEIGHT, _HEADER_PX + _ROW_PX * len(groups))  # no empty band under a short queue
    grid = AgGrid(data, gridOptions=options.build(), update_mode=GridUpdateMode.SELECTION_CHANGED, key=key, height=height)
    picked = getattr(grid, "selected_rows", None)
    if picked is not None and len(picked) > 0:
        st.session_state[f"{key}_picked"] = [str(i) for i in picked["id"]]
    chosen = set(st.session_state.get(f"{key}_picked", []))
    return [g for g in groups if g.lead.id in chosen]
