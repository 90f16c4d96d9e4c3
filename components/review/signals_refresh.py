"""The LABEL signals of a Training Sheet brought up to date on queue load: at once for a few
changed pairs; a large backlog (a new, large sheet) as a background job the person starts, whose
progress shows here with Cancel and Resume while the queue stays usable."""

from __future__ import annotations

import streamlit as st

from components import job_progress
from components.feedback import shown_errors
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.review.signals import PairSignals
from services.review.signals_job import SignalsJobs


def show(wb: Workbench, signals: PairSignals, training_sheet_id: str, key: str = "signals_refresh") -> None:
    jobs = SignalsJobs(wb)
    latest = jobs.latest(training_sheet_id)
    if latest is not None and not latest.is_finished:
        st.caption("Computing LABEL signals (personal data, near-duplicates, quality) for this Training Sheet:")
        job_progress.show(JobRunner(wb), latest.id, key=f"{key}_job", unit="kinds of signal")
        return
    waiting = signals.refresh_if_small(training_sheet_id)
    if not waiting:
        return
    note, action = st.columns([4, 1], vertical_alignment="center")
    note.info(
        f"LABEL signals (PII, near-duplicates, quality) are not computed yet for {waiting:,} pairs of this Training Sheet.",
        icon=":material/hourglass_empty:",
    )
    if action.button("Compute signals", key=f"{key}_{training_sheet_id}", icon=":material/play_arrow:"):
        with shown_errors():
            jobs.start(training_sheet_id)
            st.rerun()
    if latest is not None and latest.can_resume:  # cancelled, failed or interrupted: its Resume, and why it stopped
        job_progress.show(JobRunner(wb), latest.id, key=f"{key}_job", unit="kinds of signal")
