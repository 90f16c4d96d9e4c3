"""One card per lifecycle stage: what exists there now, and the way in when it is built."""

from __future__ import annotations

import streamlit as st

from components.navigation import page_for_stage
from services.core.pipeline_summary import StageCount

PURPOSE = {
    "DATA": "Sheets point at Unity Catalog tables and volumes.",
    "GENERATE": "Templates applied to sheets make Training Sheets of Q&A pairs.",
    "LABEL": "Experts approve pairs; every approval is a reusable canonical label.",
    "TRAIN": "Export what passes the quality and governance gates; fine-tune with lineage.",
    "DEPLOY": "Serve trained models to cloud, edge or air-gapped sites.",
    "MONITOR": "Watch predictions, drift and alerts.",
    "IMPROVE": "Route production feedback back to labeling.",
}
CARDS_PER_ROW = 4


def show(counts: list[StageCount]) -> None:
    for start in range(0, len(counts), CARDS_PER_ROW):
        for column, count in zip(st.columns(CARDS_PER_ROW), counts[start : start + CARDS_PER_ROW], strict=False):
            with column.container(border=True):
                st.markdown(f"**{count.stage}**")
                st.markdown(f"### {count.count:,}")
                st.caption(f"{count.noun} · {PURPOSE[count.stage]}")
                page = page_for_stage(count.stage)
                if page is not None:
                    st.page_link(page.path, label=f"Open {page.title}", icon=":material/arrow_forward:")
                else:
                    st.caption(":gray[Not part of this build yet]")
