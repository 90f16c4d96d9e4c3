"""The list of sheets; the selected one follows the `?sheet=<id>` deep link."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.core.domain.sheet import Sheet

QUERY_PARAM = "sheet"
_PENDING = "sheet_list_select"  # a sheet to select on the next run (the table is drawn by then)


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
    if (pending := st.session_state.pop(_PENDING, None)) is not None:
        # The row highlighted must be the sheet shown: the table's own selection would otherwise
        # keep the row picked before (and win over the deep link).
        st.session_state[key] = {"selection": {"rows": [i for i, s in enumerate(sheets) if s.id == pending]}}
    event = st.dataframe(frame, key=key, hide_index=True, on_select="rerun", selection_mode="single-row", width="stretch")
    rows = event.selection.rows if event is not None else []
    if rows:
        st.query_params[QUERY_PARAM] = sheets[rows[0]].id
    wanted = st.query_params.get(QUERY_PARAM)
    return next((s for s in sheets if s.id == wanted), None)


def select(sheet_id: str | None) -> None:
    """Point the deep link and the list's highlighted row at a sheet (or at none) from the next run."""
    st.session_state[_PENDING] = sheet_id or ""
    if sheet_id:
        st.query_params[QUERY_PARAM] = sheet_id
    else:
        st.query_params.pop(QUERY_PARAM, None)
