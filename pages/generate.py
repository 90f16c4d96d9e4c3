"""GENERATE: apply a published template to a sheet; items with canonical labels arrive pre-approved."""

import streamlit as st

from components import breadcrumb, job_progress
from components.feedback import show_flash, shown_errors
from components.generate import draft_record, generation_form, pair_preview, reuse_summary, training_sheet_list
from components.navigation import built_page
from components.session import workbench
from services.core.domain.qa_pair import TrainingSheetStatus
from services.core.jobs import JobRunner
from services.generate.generation import GenerationService
from services.generate.reuse_report import ReuseReport

wb = workbench()
service, runner = GenerationService(wb), JobRunner(wb)

breadcrumb.show("GENERATE")
st.title("Generate")
st.caption("A Training Sheet is a sheet's items as Q&A pairs, made by a prompt template.")
show_flash()

new_tab, sheets_tab = st.tabs(["New Training Sheet", "Training Sheets"])
with new_tab:
    request, action = generation_form.show(wb, "generate")
    with shown_errors():
        if action == "preview":
            pair_preview.show(wb, *service.preview(request))
        elif action == "start":
            training_sheet_list.select(service.start(request).id)
            st.rerun()

with sheets_tab:
    selected = training_sheet_list.show(service.list())

if selected is not None:
    st.subheader(selected.name)
    counts = selected.counts
    st.markdown(
        f"{counts.total:,} pairs · {counts.labeled:,} labeled ({counts.canonical:,} pre-approved) · "
        f"{counts.unlabeled:,} unlabeled · {counts.rejected:,} rejected · {counts.flagged:,} flagged"
    )
    draft_record.show(selected)
    if selected.job_id:
        job_progress.show(runner, selected.job_id, key=f"job_{selected.id}")
    if review := built_page("label"):
        st.page_link(review.path, label="Review this Training Sheet", icon=":material/rate_review:", query_params={"training_sheet": selected.id})
    if selected.status != TrainingSheetStatus.GENERATING:
        report = ReuseReport(wb)
        reuse_summary.show(report.summary(selected.id), report.pre_approved(selected.id), key=f"reuse_{selected.id}")
