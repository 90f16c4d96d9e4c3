"""Choose the Training Sheets to export; `?training_sheet=<id>` preselects one."""

from __future__ import annotations

import streamlit as st

from services.core.domain.qa_pair import TrainingSheet

QUERY_PARAM = "training_sheet"


def show(training_sheets: list[TrainingSheet], key: str) -> list[TrainingSheet]:
    if not training_sheets:
        st.info("No Training Sheet has a labeled pair yet. Review one on the LABEL page, then export it here.")
        return []
    by_id = {t.id: t for t in training_sheets}
    if key not in st.session_state:
        linked = st.query_params.get(QUERY_PARAM)
        richest = max(training_sheets, key=lambda t: t.counts.labeled)  # the one with the most to export
        st.session_state[key] = [linked] if linked in by_id else [richest.id]
    chosen = st.multiselect(
        "Training Sheets", list(by_id), key=key,
        format_func=lambda i: f"{by_id[i].name} · {by_id[i].label_type} · {by_id[i].counts.labeled:,} labeled of {by_id[i].counts.total:,}",
        help="Several Training Sheets make one export; each pair keeps the id of its Training Sheet.",
    )
    return [by_id[i] for i in chosen if i in by_id]
