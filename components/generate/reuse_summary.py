"""After a generation: how many pairs arrived pre-approved from canonical labels, which labels
are new since the last Training Sheet from the same sheet (by item, label type, labeler and
time, each a link to its pair in LABEL), and every pre-approved pair with what it may be used for."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.generate.reuse_report import PreApproved, ReuseSummary

LABEL_PAGE = "label"  # the LABEL page's URL path; ?training_sheet=…&pair=… opens the pair


def _when(row: PreApproved) -> str:
    return f"{row.labeled_at:%Y-%m-%d %H:%M} UTC" if row.labeled_at else ""


def _link(row: PreApproved, training_sheet_id: str) -> str:
    return f"{LABEL_PAGE}?training_sheet={training_sheet_id}&pair={row.pair_id}"


def headline(summary: ReuseSummary) -> str:
    """"N of M pre-approved from canonical labels; K of them labeled since the last Training Sheet"."""
    head = f"**{summary.pre_approved:,} of {summary.total:,} pre-approved from canonical labels**"
    previous = summary.previous
    if previous is None:
        return head + "; this is the first Training Sheet from this sheet, so each of those labels is reused here for the first time."
    made = f", {previous.created_at:%Y-%m-%d %H:%M} UTC" if previous.created_at else ""
    return head + f"; **{summary.labeled_since:,} of them labeled since the last Training Sheet from this sheet** ({previous.name}{made})."


def show(summary: ReuseSummary, every: list[PreApproved], key: str = "reuse_summary") -> None:
    st.success(headline(summary), icon=":material/auto_awesome:")
    ts = summary.training_sheet.id
    if summary.recent and (summary.previous is None or summary.labeled_since):
        st.dataframe(
            pd.DataFrame({
                "Item": [r.item_ref for r in summary.recent], "Label type": [r.label_type for r in summary.recent],
                "Labeled by": [r.labeled_by for r in summary.recent], "When": [_when(r) for r in summary.recent],
                "In LABEL": [_link(r, ts) for r in summary.recent],
            }),
            key=f"{key}_recent", hide_index=True, width="stretch",
            column_config={"In LABEL": st.column_config.LinkColumn("In LABEL", display_text="Open in LABEL →")},
        )
    with st.expander(f"Every pre-approved pair ({summary.pre_approved:,})", icon=":material/verified:"):
        st.dataframe(
            pd.DataFrame({
                "Item": [r.item_ref for r in every], "Label type": [r.label_type for r in every],
                "Labeled by": [r.labeled_by for r in every], "When": [_when(r) for r in every], "Status": [r.status for r in every],
                "Training allowed": [r.training_allowed for r in every], "Why not": [r.why_not_for_training for r in every],
                "In LABEL": [_link(r, ts) for r in every],
            }),
            key=f"{key}_every", hide_index=True, width="stretch",
            column_config={"In LABEL": st.column_config.LinkColumn("In LABEL", display_text="Open →")},
        )
