"""The list of sheets; the selected one follows the `?sheet=<id>` deep link."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.core.domain.sheet import Sheet

QUERY_PARAM = "sheet"


def show(sheets: list[Sheet], key: str = "sheet_list") -> Sheet | None:
    if not sheets:
        st.info("No sheets yet. Create one below from a Unity Catalog table.")
        return None
    frame = pd.DataFrame(
        {
            "Name": [s.name for s in sheets],
            "Primary table": [s.primary_table for s in sheets],
            "Items": [s.row_count for s in sheets],
            "Volumes": [", ".join(v.path for v in s.volume_sources) for s in sheets],
            "Updated by": [s.updated_by for s in sheets],
            "Updated": [s.updated_at for s in sheets],
        }
    )
    event = st.dataframe(frame, key=key, hide_index=True, on_select="rerun", selection_mode="single-row", width="stretch")
    rows = event.selection.rows if event is not None else []
    if rows:
        st.query_params[QUERY_PARAM] = sheets[rows[0]].id
    wanted = st.query_params.get(QUERY_PARAM)
    return next((s for s in sheets if s.id == wanted), None)


def select(sheet_id: str | None) -> None:
    """Point the deep link at a sheet (or at none)."""
    if sheet_id:
        st.query_params[QUERY_PARAM] = sheet_id
    else:
        st.query_params.pop(QUERY_PARAM, None)
