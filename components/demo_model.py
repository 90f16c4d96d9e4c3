"""The demo model being trained in the background (Home and TRAIN): its job's progress, with
Cancel, and Resume once a stop interrupted it."""

from __future__ import annotations

import streamlit as st

from components import job_progress
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.demo.trained_model import DEMO_MODEL_NAME, demo_model
from services.train.records import RunStatus

PREPARING_POLL_S = 2.0  # the export takes seconds; then the job's own bar takes over


def show(workbench: Workbench, key: str) -> None:
    """Nothing when the store has no demo model to train (or WORKBENCH_DEMO_TRAINING is off)."""
    model = demo_model(workbench)
    if model is None:
        return
    with st.container(border=True):
        st.markdown(f"**Demo model** `{DEMO_MODEL_NAME}` · a real LoRA fine-tune on {model.training_sheet_name}")
        run = model.run
        if run is None or run.job_id is None:
            if model.start_error:
                st.warning(f"The demo model could not be started: {model.start_error}", icon=":material/error:")
                return
            st.caption("Preparing: the Training Sheet is being exported; training starts in the background next.")
            st.fragment(_until_started, run_every=PREPARING_POLL_S)(workbench)
            return
        if run.status is RunStatus.SUCCEEDED:
            st.caption(f"Registered as version {run.model_version}, ready for DEPLOY; its lineage is on the TRAIN page.")
        elif run.status is RunStatus.INTERRUPTED:
            st.caption("The app stopped while it trained. Resume trains it again from the start; nothing restarts it by itself.")
        elif not run.is_finished:
            st.caption("Training in the background while you use the pages; each training step counts as an item.")
        job_progress.show(JobRunner(workbench), run.job_id, key=key)


def _until_started(workbench: Workbench) -> None:
    """Polls while the demo run is being prepared; once it is recorded (or failed), the full page shows it."""
    model = demo_model(workbench)
    if model is None or model.start_error or (model.run is not None and model.run.job_id):
        st.rerun(scope="app")
