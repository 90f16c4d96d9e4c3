"""The pipeline breadcrumb: DATA → GENERATE → … → IMPROVE, on every page."""

from __future__ import annotations

import streamlit as st

from components import canonical_labels_button
from components.navigation import STAGE_ORDER, page_for_stage


def show(current: str | None = None, counts: dict[str, int] | None = None) -> None:
    canonical_labels_button.show()
    columns = st.columns(len(STAGE_ORDER))
    for column, stage in zip(columns, STAGE_ORDER, strict=True):
        label = stage if counts is None else f"{stage} · {counts.get(stage, 0):,}"
        page = page_for_stage(stage)
        with column:
            if stage == current:
                st.markdown(f"**:blue-background[{label}]**")
            elif page is not None:
                st.page_link(page.path, label=label)
            else:
                st.markdown(f":gray[{label}]")
