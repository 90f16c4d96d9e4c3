"""IMPROVE: what production said about the models, back to the experts. The feedback queue
(ranked by impact, near-duplicates grouped) routes each pattern to curation and traces it to the
training pairs behind it; gap analysis shows what the training data lacks; Retrain trains the next
version on what the experts approved."""

import streamlit as st

from components import breadcrumb
from components.feedback import show_flash, shown_errors
from components.improve import curation_actions, gap_analysis, queue_grid, queue_item, retrain, training_trace
from components.session import workbench
from services.improve.curation import FeedbackCuration
from services.improve.queue import FeedbackQueue

wb = workbench()
queue = FeedbackQueue(wb)

breadcrumb.show("IMPROVE")
st.title("Improve")
st.caption("Feedback from the Playground, MONITOR and `POST /api/v1/feedback`, and answers under an endpoint's "
           "low-confidence threshold (set in DEPLOY), each linked to the logged request and model version.")
show_flash()

# Tracked (keyed, a rerun on a switch): an action's flash above the tabs, or a job's rerun when it
# ends, would otherwise reset them to Queue and hide the retrain a person is following. Every tab
# runs, not only the open one: a widget not drawn in a run loses its value, so the queue's filters
# and the Retrain rule being edited would be reset by a look at another tab.
queue_tab, gaps_tab, retrain_tab = st.tabs(["Queue", "Gaps", "Retrain"], key="improve_tab", on_change="rerun")
with queue_tab, shown_errors():
    st.caption(queue_grid.SEVERITY_RULE)
    filters = queue_grid.filters(queue.choices(), key="improve_filters")
    with st.spinner("Grouping similar requests…"):
        groups = queue.groups(filters)
    picked = queue_grid.show(groups, key="improve_queue") if groups else []
    if not groups:
        st.info("Nothing in the queue for these filters. Give a thumbs down or a correction under a Playground answer "
                "(DEPLOY) or a sample prediction (MONITOR), or set an endpoint's low-confidence threshold.")
    elif not picked:
        st.caption("Select one or more rows to see them and route them to curation.")
    else:
        queue_item.show(wb, picked[0], queue.source_item(picked[0].lead), key="improve_item")
        curation_actions.show(FeedbackCuration(wb), picked, key="improve_actions")
        if picked[0].lead.model_version:
            training_trace.show(wb, picked[0].lead, key="improve_trace")
with gaps_tab:
    gap_analysis.section(wb, key="improve_gaps")
with retrain_tab:
    retrain.section(wb)
