"""Feedback on a request's MLflow trace: what a person said about an answer, beside the trace
MLflow keeps of it (on Databricks, where the workspace's review and evaluation tools read it).

The seam is one call: a thumbs up or down with its rationale, and the right answer as an
expectation when there is one. MLflow is imported when first used (it takes seconds).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

FEEDBACK_NAME = "user_feedback"  # a thumbs up is True, a thumbs down False
EXPECTATION_NAME = "expected_response"  # the correction: the answer the model should have given


class TraceFeedbackError(RuntimeError):
    """MLflow refused the feedback (no such trace, no access); the message says which."""


class TraceFeedback(ABC):
    @abstractmethod
    def log(self, trace_id: str, *, thumbs_up: bool, by: str, rationale: str | None = None, correction: str | None = None,
            metadata: dict[str, str] | None = None) -> None:
        """Feedback (and the correction as an expectation) on the trace; TraceFeedbackError when refused."""


class MlflowTraceFeedback(TraceFeedback):
    """Through MLflow's tracing client at `tracking_uri` (`databricks` in a workspace; a sqlite
    store works the same offline): the assessments `mlflow.log_feedback` and
    `mlflow.log_expectation` write, without changing the process's global tracking URI."""

    def __init__(self, tracking_uri: str) -> None:
        self._uri = tracking_uri

    def log(self, trace_id: str, *, thumbs_up: bool, by: str, rationale: str | None = None, correction: str | None = None,
            metadata: dict[str, str] | None = None) -> None:
        from mlflow.entities import AssessmentSource, AssessmentSourceType, Expectation, Feedback
        from mlflow.exceptions import MlflowException
        from mlflow.tracing.client import TracingClient

        client = TracingClient(self._uri)
        source = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=by)
        assessments: list[Any] = [Feedback(name=FEEDBACK_NAME, value=thumbs_up, source=source, rationale=rationale, metadata=metadata)]
        if correction is not None:
            assessments.append(Expectation(name=EXPECTATION_NAME, value=correction, source=source, metadata=metadata))
        try:
            for assessment in assessments:
                client.log_assessment(trace_id, assessment)
        except MlflowException as error:
            raise TraceFeedbackError(f"MLflow did not take the feedback on trace {trace_id}: {error.message}") from error
