"""The feedback table: a row links the logged prediction it judges, and moves along with a version check."""

from __future__ import annotations

import pytest

from services.core.errors import NotFoundError, StaleWriteError
from services.improve.feedback_store import FeedbackStore
from services.improve.records import FeedbackKind, FeedbackOrigin, FeedbackStatus, NewFeedback
from tests.monitor_builders import logged_request, write_log


def test_feedback_copies_its_predictions_endpoint_model_version_and_ids(workbench):
    write_log(workbench, [logged_request(7, version="2")])
    feedback = FeedbackStore(workbench).add(NewFeedback(
        "log-2-7", FeedbackKind.CORRECTION, FeedbackOrigin.PLAYGROUND, "expert@example.com", value="down",
        correction='{"urgency": "urgent"}', comment="It is overdue.",
    ))
    assert (feedback.endpoint_name, feedback.model_id, feedback.request_id, feedback.trace_id) == ("urgency", "invoices_urgency_lora/2", "r7", "trace-7")
    assert feedback.status is FeedbackStatus.OPEN and feedback.version == 1 and feedback.correction == '{"urgency": "urgent"}'
    assert FeedbackStore(workbench).for_prediction("log-2-7") == [feedback]


def test_feedback_on_a_prediction_never_logged_is_refused_and_writes_nothing(workbench):
    store = FeedbackStore(workbench)
    with pytest.raises(NotFoundError, match="No logged prediction"):
        store.add(NewFeedback("log-none", FeedbackKind.RATING, FeedbackOrigin.API, "app@example.com", value="down"))
    assert workbench.backend.engine.query_one(f"SELECT count(*) AS n FROM {workbench.table('feedback')}")["n"] == 0


def test_a_triage_based_on_a_stale_version_is_refused_naming_who_changed_it(workbench):
    write_log(workbench, [logged_request(1)])
    store = FeedbackStore(workbench)
    opened = store.add(NewFeedback("log-1-1", FeedbackKind.RATING, FeedbackOrigin.MONITOR, "a@example.com", value="down"))
    store.set_status(opened.id, FeedbackStatus.FLAGGED, by="senior@example.com", expected_version=1, flag_note="Looks odd.")
    with pytest.raises(StaleWriteError, match=r"senior@example\.com"):
        store.set_status(opened.id, FeedbackStatus.DISMISSED, by="b@example.com", expected_version=1)
    assert store.get(opened.id).status is FeedbackStatus.FLAGGED and store.get(opened.id).flag_note == "Looks odd."
