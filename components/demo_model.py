"""The demo model being trained in the background (Home and TRAIN): its job's progress, with
Cancel, and Resume once a stop interrupted it."""

from __future__ import annotations

import streamlit as st

from components import job_progress
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.demo.trained_model import DEMO_MODEL_NAME, demo_model
from services.train.records import RunStatus


def show(workbench: Workbench, key: str) -> None:
    """Nothing when the store has no demo model to train (or WORKBENCH_DEMO_TRAINING is off)."""
    model = demo_model(workbench)
    if model is None:
        return
    with st.container(border=True):
        st.markdown(f"**Demo model** `{DEMO_MODEL_NAME}` · a real LoRA fine-tune on {model.training_sheet_name}")
        run = model.run
        if run is None or run.job_id is None:
            st.caption("Preparing: the Training Sheet is being exported; training starts in the background next.")
            return
        if run.status is RunStatus.SUCCEEDED:
            st.caption(f"Registered as version {run.model_version}, ready for DEPLOY; its lineage is on the TRAIN page.")
        elif run.status is RunStatus.INTERRUPTED:
            st.caption("The app stopped while it trained. Resume trains it again from the start; nothing restarts it by itself.")
        elif not run.is_finished:
            st.caption("Training in the background while you use the pages; each training step counts as an item.")
        job_progress.show(JobRunner(workbench), run.job_id, key=key)
