"""Training Sheets with their counts, and the one the `?training_sheet=<id>` link selects."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.core.domain.qa_pair import TrainingSheet

QUERY_PARAM = "training_sheet"


def show(training_sheets: list[TrainingSheet], key: str = "training_sheets") -> TrainingSheet | None:
    if not training_sheets:
        st.info("No Training Sheets yet. Generate one from a sheet and a published template.")
        return None
    frame = pd.DataFrame(
        {
            "Name": [t.name for t in training_sheets],
            "Template": [f"{t.generation_config.get('template_name', '')} v{t.template_version}" for t in training_sheets],
            "Label type": [t.label_type for t in training_sheets],
            "Mode": [t.labeling_mode for t in training_sheets],
            "Status": [t.status for t in training_sheets],
            "Total": [t.counts.total for t in training_sheets],
            "Pre-approved": [t.counts.canonical for t in training_sheets],
            "Unlabeled": [t.counts.unlabeled for t in training_sheets],
            "Labeled": [t.counts.labeled for t in training_sheets],
            "Rejected": [t.counts.rejected for t in training_sheets],
            "Flagged": [t.counts.flagged for t in training_sheets],
            "Review": [f"label?training_sheet={t.id}" for t in training_sheets],
        }
    )
    event = st.dataframe(
        frame, key=key, hide_index=True, on_select="rerun", selection_mode="single-row", width="stretch",
        column_config={"Review": st.column_config.LinkColumn("Review", display_text="Review →")},
    )
    if event is not None and event.selection.rows:
        st.query_params[QUERY_PARAM] = training_sheets[event.selection.rows[0]].id
    wanted = st.query_params.get(QUERY_PARAM)
    return next((t for t in training_sheets if t.id == wanted), None)


def select(training_sheet_id: str) -> None:
    st.query_params[QUERY_PARAM] = training_sheet_id
