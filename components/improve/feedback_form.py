"""Thumbs up or down, and the right answer, on one logged answer (Playground, MONITOR). A
correction the model's output schema refuses is shown with the reason and nothing is written."""

from __future__ import annotations

import streamlit as st

from components.feedback import shown_errors
from services.core.workbench import Workbench
from services.improve.capture import DOWN, UP, FeedbackCapture, FeedbackInput
from services.improve.feedback_store import FeedbackStore
from services.improve.records import FeedbackOrigin

_THUMBS = {UP: ":material/thumb_up: Right", DOWN: ":material/thumb_down: Wrong"}


def show(workbench: Workbench, *, inference_log_id: str | None = None, request_id: str | None = None,
         origin: FeedbackOrigin, key: str) -> None:
    """The form for the answer with this log id (or request id: the Playground knows only that)."""
    with st.form(key):  # kept as typed after a send: a refused correction can be fixed, not retyped
        st.markdown("**Feedback on this answer** (it goes to IMPROVE's queue)")
        value = st.radio("Was it right?", list(_THUMBS), format_func=_THUMBS.__getitem__, index=None, horizontal=True,
                         key=f"{key}_value")
        correction = st.text_area("Correction (optional): the answer it should have given", key=f"{key}_correction", height=68,
                                  help="Checked against the model's output schema, e.g. {\"urgency\": \"urgent\"}. Means thumbs down.")
        comment = st.text_input("Comment (optional)", key=f"{key}_comment")
        sent = st.form_submit_button("Send feedback", icon=":material/rate_review:")
    if not sent:
        return
    if value is None and not correction.strip():
        st.warning("Pick Right or Wrong, or write the correct answer.", icon=":material/thumbs_up_down:")
        return
    with shown_errors():
        capture = FeedbackCapture(workbench)
        log_id = inference_log_id or capture.log_id_for(request_id=request_id)
        given = FeedbackInput(value or DOWN, correction, comment)
        saved = capture.submit(log_id, given, origin)
        st.success(f"Thanks: your {saved.kind.value} on {saved.model_id or saved.endpoint_name} is in IMPROVE's queue.",
                   icon=":material/check_circle:")


def show_given(workbench: Workbench, inference_log_id: str) -> None:
    """What has been said about this answer already."""
    given = FeedbackStore(workbench).for_prediction(inference_log_id)
    if given:
        said = "; ".join(f"{f.value or f.kind.value} by {f.created_by}" + (f" ({f.correction})" if f.correction else "") for f in given)
        st.caption(f"Feedback so far: {said}")
