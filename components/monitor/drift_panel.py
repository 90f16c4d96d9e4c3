"""Drift findings: each measure with its value, threshold and what moved; the prompt-text shift
is measured on request (it embeds a sample of prompts, seconds on a CPU)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from services.monitor.psi import DriftFinding


def _show(finding: DriftFinding) -> None:
    if finding.moved:
        st.warning(finding.sentence, icon=":material/trending_up:")
    else:
        st.success(finding.sentence, icon=":material/check:")
    st.caption(f"{finding.method} over {finding.live_count:,} live and {finding.training_count:,} training values.")


def show(findings: list[DriftFinding], text_shift: Callable[[], DriftFinding | None], key: str) -> None:
    if findings:
        for finding in findings:
            _show(finding)
    else:
        st.info("No drift measure yet: it needs at least 5 answered requests in the window and 5 training answers, and, for input "
                "fields, requests sent from items of the model's sheet (the DEPLOY Playground's items).")
    if st.button("Measure the prompt text's shift", key=f"{key}_text", icon=":material/text_compare:",
                 help="Embeds up to 100 recent prompts and 100 training prompts with the local sentence-embedding model."):
        with st.spinner("Embedding prompts…"):
            st.session_state[f"{key}_text_finding"] = text_shift() or "none"
    found = st.session_state.get(f"{key}_text_finding")
    if found == "none":
        st.info("Too few prompts to compare: the text shift needs at least 5 live and 5 training prompts.")
    elif isinstance(found, DriftFinding):
        _show(found)
