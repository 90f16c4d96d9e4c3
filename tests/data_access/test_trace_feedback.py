"""Feedback onto a real MLflow trace in a local sqlite store (tracing and log_feedback work
offline): the thumbs as a human Feedback, the correction as an Expectation; a trace MLflow does
not hold is a TraceFeedbackError, and through FeedbackCapture the workbench's row still stands."""

from __future__ import annotations

import json

import mlflow
import pytest

from data_access.tracking.factory import local_tracking_uri
from data_access.tracking.trace_feedback import EXPECTATION_NAME, FEEDBACK_NAME, MlflowTraceFeedback, TraceFeedbackError
from services.improve.capture import FeedbackCapture, FeedbackInput
from services.improve.feedback_store import FeedbackStore
from services.improve.records import FeedbackOrigin
from tests.improve_builders import deployed_model
from tests.mlflow_store import empty_mlflow_db, fresh_mlflow_store  # noqa: F401 - fixtures
from tests.monitor_builders import logged_request, write_log


@pytest.fixture
def traced(settings) -> tuple[str, str]:
    """A real trace of one answer in the test's MLflow store; returns (tracking uri, trace id)."""
    uri = local_tracking_uri(settings.home)
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow.start_span("urgency answer") as span:
            span.set_inputs({"messages": [{"role": "user", "content": "Invoice INV-0042 for 420.00."}]})
            span.set_outputs({"content": '{"urgency": "routine"}'})
            trace_id = span.trace_id
        mlflow.flush_trace_async_logging()
    finally:
        mlflow.set_tracking_uri(before)
    return uri, trace_id


def _assessments(uri: str, trace_id: str) -> dict[str, object]:
    trace = mlflow.MlflowClient(uri).get_trace(trace_id)
    return {a.name: a for a in trace.info.assessments}


def test_a_correction_sent_through_capture_lands_on_the_requests_trace_as_feedback_and_expectation(workbench, traced):
    uri, trace_id = traced
    deployed_model(workbench)
    record = logged_request(1)
    write_log(workbench, [record.__class__(**{**record.__dict__, "trace_id": trace_id})])
    saved = FeedbackCapture(workbench, MlflowTraceFeedback(uri)).submit(
        "log-1-1", FeedbackInput("down", correction='{"urgency": "urgent"}', comment="Overdue."), FeedbackOrigin.API)
    found = _assessments(uri, trace_id)
    feedback, expectation = found[FEEDBACK_NAME], found[EXPECTATION_NAME]
    assert feedback.feedback.value is False and feedback.rationale == "Overdue."
    assert (feedback.source.source_type, feedback.source.source_id) == ("HUMAN", workbench.user.email)
    assert feedback.metadata["workbench_feedback_id"] == saved.id
    assert json.loads(expectation.expectation.value) == {"urgency": "urgent"}


def test_feedback_on_a_trace_mlflow_does_not_hold_is_refused_by_the_adapter_and_kept_by_the_workbench(workbench, traced):
    uri, _ = traced
    with pytest.raises(TraceFeedbackError, match="tr-missing"):
        MlflowTraceFeedback(uri).log("tr-missing", thumbs_up=True, by="a@example.com")
    write_log(workbench, [logged_request(1)])  # its trace id names no MLflow trace
    saved = FeedbackCapture(workbench, MlflowTraceFeedback(uri)).submit("log-1-1", FeedbackInput("up"), FeedbackOrigin.API)
    assert FeedbackStore(workbench).get(saved.id).value == "up"
