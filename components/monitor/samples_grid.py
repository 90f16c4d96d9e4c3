"""Sample predictions in an AG Grid (sorted and filtered in the browser); the selected row opens
its request, response, trace and the sheet item it came from."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st
from st_aggrid import AgGrid, GridOptionsBuilder, GridUpdateMode

from components import source_preview
from services.core.workbench import Workbench
from services.data.sheet_items import SheetItem
from services.monitor.samples import LoggedRequest, SamplePrediction

_TEXT_PREVIEW = 120  # characters of an answer in a grid cell; the opened request shows all


def frame(samples: list[SamplePrediction]) -> pd.DataFrame:
    return pd.DataFrame({
        "Time": [s.created_at.strftime("%Y-%m-%d %H:%M:%S") for s in samples],
        "Version": [s.model_version or "" for s in samples],
        "Status": [s.status_code for s in samples],
        "Latency ms": [round(s.latency_ms, 1) for s in samples],
        "Prediction": [(s.prediction or "")[:_TEXT_PREVIEW] for s in samples],
        "Confidence": [s.confidence for s in samples],
        "Expert label": [(s.expected or "")[:_TEXT_PREVIEW] for s in samples],
        "From": [s.source or "" for s in samples],
        "id": [s.id for s in samples],
    })


def show(samples: list[SamplePrediction], key: str) -> str | None:
    """The grid; returns the id of the selected request."""
    data = frame(samples)
    options = GridOptionsBuilder.from_dataframe(data)
    options.configure_default_column(filter=True, sortable=True, resizable=True)
    options.configure_column("id", hide=True)
    options.configure_selection("single")
    grid = AgGrid(data, gridOptions=options.build(), update_mode=GridUpdateMode.SELECTION_CHANGED, key=key, height=300)
    picked = getattr(grid, "selected_rows", None)
    if picked is not None and len(picked) > 0:
        st.session_state[f"{key}_opened"] = str(picked["id"].iloc[0])
    return st.session_state.get(f"{key}_opened")


def _pretty(text: str | None) -> str:
    try:
        return json.dumps(json.loads(text or ""), indent=2, ensure_ascii=False)
    except ValueError:
        return text or "(none)"


def show_request(workbench: Workbench, logged: LoggedRequest, item: SheetItem | None) -> None:
    sample = logged.sample
    st.markdown(f"**Request {logged.request_id}** · {sample.created_at:%Y-%m-%d %H:%M:%S} · status {sample.status_code} · "
                f"trace `{sample.trace_id}` · asked by {logged.requester or 'unknown'}")
    request, response = st.columns(2)
    request.caption("Request")
    request.code(_pretty(logged.request), language="json", wrap_lines=True)
    response.caption("Response")
    response.code(_pretty(logged.response), language="json", wrap_lines=True)
    if logged.error:
        st.warning(logged.error, icon=":material/error:")
    if sample.expected:
        st.caption(f"Expert label of its item: `{sample.expected}`")
    if item is None:
        st.caption("Not sent from a sheet item (or the item is no longer in its sheet): no source to show.")
        return
    st.caption(f"Source: item {item.item_ref} of its sheet")
    st.dataframe(pd.DataFrame([{k: str(v) for k, v in item.fields.items()}]), hide_index=True)
    for media in item.media[:2]:
        source_preview.thumbnail(workbench, media)
