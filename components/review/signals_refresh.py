"""The LABEL signals of a Training Sheet brought up to date on queue load: at once for a few
changed pairs; for a large backlog (a new, large sheet) when the person asks, with a spinner."""

from __future__ import annotations

import streamlit as st

from services.review.signals import PairSignals


def show(signals: PairSignals, training_sheet_id: str, key: str = "signals_refresh") -> None:
    waiting = signals.refresh_if_small(training_sheet_id)
    if not waiting:
        return
    note, action = st.columns([4, 1], vertical_alignment="center")
    note.info(
        f"LABEL signals (PII, near-duplicates, quality) are not computed yet for {waiting:,} pairs of this Training Sheet.",
        icon=":material/hourglass_empty:",
    )
    if action.button("Compute signals", key=f"{key}_{training_sheet_id}", icon=":material/play_arrow:"):
        with st.spinner(f"Computing signals for {waiting:,} pairs…"):
            signals.refresh(training_sheet_id)
        st.rerun()
