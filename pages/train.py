"""TRAIN: export what passes both gates as chat JSONL, an immutable numbered version a trainer reads."""

import streamlit as st

from components import breadcrumb, demo_model, job_progress
from components.feedback import flash, show_flash, shown_errors
from components.improve import retrain
from components.session import workbench
from components.train import (
    class_balance,
    export_preview,
    export_summary,
    export_versions,
    lineage_panel,
    sheet_picker,
    split_form,
    training_panel,
)
from services.core.jobs import JobRunner
from services.train.exports import ExportService

EXPORT_JOB = "train_export_job"

wb = workbench()
service, runner = ExportService(wb), JobRunner(wb)

breadcrumb.show("TRAIN")
st.title("Train")
st.caption("Only expert-approved pairs whose governance allows it leave the workbench: labeled, and the use allowed and not prohibited.")
show_flash()
retrain.check_on_load(wb)  # IMPROVE's retrain rules: a rule whose N pairs wait starts its retrain
demo_model.show(wb, key="train_demo_model")

chosen = sheet_picker.show(service.training_sheets(), key="train_sheets")
if not chosen:
    st.stop()
ids = [t.id for t in chosen]

st.subheader("Export summary")
export_summary.show(service.summary(ids), chosen)

st.subheader("Split")
config = split_form.show(service.stratify_fields(ids), key="train_split")
with shown_errors():
    class_balance.show(service.plan(ids, config))
    preview, export = st.columns(2)
    if preview.button("Preview export", key="train_preview", icon=":material/preview:"):
        export_preview.show(service.preview(ids, config))
    if export.button("Export", key="train_export", type="primary", icon=":material/file_export:"):
        st.session_state[EXPORT_JOB] = service.start(ids, config)
        flash("Export started: a new version appears below when it completes.")
        st.rerun()
if job_id := st.session_state.get(EXPORT_JOB):
    job_progress.show(runner, job_id, key="train_export_progress")

st.subheader("Export versions")
chosen_version = export_versions.show(service, service.versions(ids), export_versions.sheet_names(chosen), key="train_versions")

if chosen_version is not None:
    st.subheader(f"Train on export v{chosen_version.version}")
    with shown_errors():
        training_panel.show(wb, service.training_input(chosen_version), key=f"train_{chosen_version.id}")

st.subheader("Lineage")
lineage_panel.show(wb, key="train_lineage")
