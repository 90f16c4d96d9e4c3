"""Why a request to an endpoint was not answered; the API turns each into its HTTP status."""

from __future__ import annotations

from services.core.errors import ValidationError, WorkbenchError


class EndpointBusyError(WorkbenchError):
    """The endpoint's queue is full: try again shortly (HTTP 429)."""


class EndpointTimeoutError(WorkbenchError):
    """No answer within the endpoint's time limit (HTTP 504)."""


class EndpointNotReadyError(WorkbenchError):
    """The endpoint exists but its model is not loaded, or failed to load (HTTP 503)."""


class ModelError(WorkbenchError):
    """The model failed while answering (HTTP 500); the message keeps its words."""


class GuardrailRefusal(ValidationError):
    """A guardrail refused the request before the model saw it (HTTP 400)."""


class AnswerWithheld(WorkbenchError):
    """A guardrail withheld the model's answer (HTTP 400, as Model Serving's output guardrails answer)."""


# The HTTP status each refusal means, for the API and for the inference log's status_code.
_STATUS: tuple[tuple[type[WorkbenchError], int], ...] = (
    (GuardrailRefusal, 400),
    (AnswerWithheld, 400),
    (EndpointBusyError, 429),
    (ModelError, 500),
    (EndpointNotReadyError, 503),
    (EndpointTimeoutError, 504),
)


def http_status(error: WorkbenchError) -> int | None:
    return next((status for kind, status in _STATUS if isinstance(error, kind)), None)
