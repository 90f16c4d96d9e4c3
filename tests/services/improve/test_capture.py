"""Capturing feedback: thumbs and corrections on a logged answer, a correction checked against the
deployment's output schema, the answer found by request id or trace id."""

from __future__ import annotations

import json

import pytest

from services.core.errors import NotFoundError, ValidationError
from services.improve.capture import FeedbackCapture, FeedbackInput
from services.improve.records import FeedbackKind, FeedbackOrigin
from tests.improve_builders import deployed_model
from tests.monitor_builders import logged_request, write_log


def _feedback_count(wb) -> int:
    return wb.backend.engine.query_one(f"SELECT count(*) AS n FROM {wb.table('feedback')}")["n"]


def test_a_correction_that_fits_the_output_schema_is_stored_as_its_json_and_means_thumbs_down(workbench):
    deployed_model(workbench)
    write_log(workbench, [logged_request(1)])
    feedback = FeedbackCapture(workbench).submit(
        "log-1-1", FeedbackInput("down", correction='Should be ```json\n{"urgency": "urgent"}\n```', comment="Overdue."),
        FeedbackOrigin.PLAYGROUND)
    assert feedback.kind is FeedbackKind.CORRECTION and feedback.value == "down" and feedback.comment == "Overdue."
    assert json.loads(feedback.correction) == {"urgency": "urgent"}
    assert (feedback.origin, feedback.created_by) == (FeedbackOrigin.PLAYGROUND, workbench.user.email)


@pytest.mark.parametrize(("correction", "reason"), [
    ('{"urgency": "whenever"}', "allowed: routine, urgent"),
    ('{"priority": "urgent"}', "Missing required field 'urgency'"),
    ("whenever you like", "is not one of: routine, urgent"),
])
def test_a_correction_the_output_schema_refuses_names_why_and_writes_nothing(workbench, correction, reason):
    deployed_model(workbench)
    write_log(workbench, [logged_request(1)])
    with pytest.raises(ValidationError, match=reason):
        FeedbackCapture(workbench).submit("log-1-1", FeedbackInput("down", correction=correction), FeedbackOrigin.API)
    assert _feedback_count(workbench) == 0


def test_a_thumbs_up_is_a_rating_and_a_thumbs_up_with_a_correction_is_refused(workbench):
    deployed_model(workbench)
    write_log(workbench, [logged_request(1)])
    capture = FeedbackCapture(workbench)
    assert capture.submit("log-1-1", FeedbackInput("UP"), FeedbackOrigin.MONITOR).kind is FeedbackKind.RATING
    with pytest.raises(ValidationError, match="thumbs down"):
        capture.submit("log-1-1", FeedbackInput("up", correction='{"urgency": "urgent"}'), FeedbackOrigin.MONITOR)
    with pytest.raises(ValidationError, match="'up' or 'down'"):
        capture.submit("log-1-1", FeedbackInput("meh"), FeedbackOrigin.MONITOR)
    assert _feedback_count(workbench) == 1


def test_without_a_known_output_schema_a_correction_is_kept_as_text(workbench):
    write_log(workbench, [logged_request(1)])  # deployment `d` was never recorded: no template to check against
    feedback = FeedbackCapture(workbench).submit("log-1-1", FeedbackInput("down", correction="Urgent, it is overdue."), FeedbackOrigin.API)
    assert feedback.correction == "Urgent, it is overdue."


def test_an_answer_is_found_by_its_request_id_or_trace_id_and_an_unknown_one_is_not_found(workbench):
    write_log(workbench, [logged_request(1), logged_request(2)])
    capture = FeedbackCapture(workbench)
    assert capture.log_id_for(request_id="r2") == "log-1-2"
    assert capture.log_id_for(trace_id="trace-1") == "log-1-1"
    with pytest.raises(NotFoundError, match="request_id nope"):
        capture.log_id_for(request_id="nope")
    with pytest.raises(ValidationError):
        capture.log_id_for()
