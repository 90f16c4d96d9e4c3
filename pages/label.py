"""LABEL (Mode A): an expert reviews the Q&A pairs of a Training Sheet, the source beside each.

Approving creates the item's canonical label, so the next Training Sheet made from the same
sheet (with a template of the same label type) gets the item pre-approved.
"""

import streamlit as st

from components import breadcrumb
from components.feedback import show_flash
from components.review import (
    bulk_review,
    review_actions,
    review_card,
    review_progress,
    review_queue_filters,
    review_queue_table,
    signals_refresh,
)
from components.session import workbench
from services.core.domain.qa_pair import TrainingSheet
from services.generate.generation import GenerationService
from services.review.actions import ReviewService
from services.review.queue import ReviewQueue
from services.review.signals import PairSignals

TRAINING_SHEET_PARAM = "training_sheet"

wb = workbench()
queue, review = ReviewQueue(wb), ReviewService(wb)

breadcrumb.show("LABEL")
st.title("Label")
st.caption("Approve, edit, reject or flag each Q&A pair. An approval becomes the item's canonical label: label once, reuse everywhere.")
show_flash()

training_sheets = {t.id: t for t in GenerationService(wb).list()}
if not training_sheets:
    st.info("No Training Sheets yet. Generate one on the GENERATE page, then review it here.")
    st.stop()
linked = st.query_params.get(TRAINING_SHEET_PARAM)
pick, quick = st.columns([3, 2], vertical_alignment="bottom")
chosen_id = pick.selectbox(
    "Training Sheet", list(training_sheets), key="label_training_sheet",
    index=list(training_sheets).index(linked) if linked in training_sheets else 0,
    format_func=lambda i: f"{training_sheets[i].name} · {training_sheets[i].label_type} · {training_sheets[i].counts.total:,} pairs",
)
chosen: TrainingSheet = training_sheets[chosen_id]
if st.query_params.get(TRAINING_SHEET_PARAM) != chosen.id:
    st.query_params[TRAINING_SHEET_PARAM] = chosen.id
    st.query_params.pop(review_actions.QUERY_PARAM, None)  # a pair belongs to one Training Sheet

with quick:
    pre_approved = review_queue_filters.chip("label_filters")
filters, bulk = st.columns([3, 2])
signals = PairSignals(wb)
signals_refresh.show(wb, signals, chosen.id)  # on queue load: the signals of pairs new or changed since
with filters, st.expander("Filter the queue", expanded=False, icon=":material/filter_list:"):
    queue_filter = review_queue_filters.show("label_filters", pre_approved, signals.flagged_counts(chosen.id))
with bulk:
    bulk_review.show(review, chosen.id, queue_filter)


@st.fragment
def review_pane() -> None:
    """Progress, card and queue: after an action only this part reruns."""
    review_progress.show(queue.progress(chosen.id), queue.reviewers(chosen.id))
    pair = review_actions.current_pair(queue, chosen.id, queue_filter)
    if pair is None:
        review_actions.show_notice()
        st.success("Nothing left in this queue. Change the filter to see other pairs.", icon=":material/task_alt:")
        return
    with st.container(border=True):
        context = lambda form: review_actions.ReviewContext(review, queue, chosen.id, queue_filter, form)  # noqa: E731
        review_card.show(wb, review, pair, lambda form, edited: review_actions.show(context(form), pair, edited))
    review_queue_table.show(queue, chosen.id, queue_filter, pair)


review_pane()
