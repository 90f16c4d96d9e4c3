"""GENERATE: apply a published template to a sheet; items with canonical labels arrive pre-approved."""

import pandas as pd
import streamlit as st

from components import breadcrumb, job_progress
from components.feedback import show_flash, shown_errors
from components.generate import draft_record, generation_form, pair_preview, training_sheet_list
from components.navigation import built_page
from components.session import workbench
from services.core.jobs import JobRunner
from services.generate.generation import GenerationService

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
        f"{counts.total:,} pairs · **{counts.canonical:,} pre-approved from canonical labels** · "
        f"{counts.labeled:,} labeled · {counts.unlabeled:,} unlabeled · {counts.rejected:,} rejected · {counts.flagged:,} flagged"
    )
    draft_record.show(selected)
    if selected.job_id:
        job_progress.show(runner, selected.job_id, key=f"job_{selected.id}")
    if review := built_page("label"):
        st.page_link(review.path, label="Review this Training Sheet", icon=":material/rate_review:", query_params={"training_sheet": selected.id})
    with st.expander(f"Which pairs were pre-approved ({counts.canonical:,})", expanded=False):
        rows = service.pre_approved(selected.id)
        st.dataframe(
            pd.DataFrame({"Item": [r.item_ref for r in rows], "Canonical label": [r.canonical_label_id for r in rows],
                          "Training allowed": [r.training_allowed for r in rows], "Why not": [r.why_not_for_training for r in rows]}),
            hide_index=True, width="stretch",
        )
