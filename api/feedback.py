"""`POST /api/v1/feedback`: an application says what it thought of an answer an endpoint gave.

Takes `{"request_id" or "trace_id", "value": "up" | "down", "correction", "comment"}`; answers 201
with `{"feedback_id", "inference_log_id", "endpoint_name", "model_name", "model_version", "kind",
"status"}`. An unknown request is a 404; a bad value, or a correction the model's output schema
refuses, a 400 that says why (nothing is written).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http import ApiError, api_route, read_json
from api.identity import caller_workbench
from services.core.workbench import Workbench
from services.improve.capture import FeedbackCapture, FeedbackInput
from services.improve.records import Feedback, FeedbackOrigin

PATH = "/api/v1/feedback"
_FIELDS = {"request_id", "trace_id", "value", "correction", "comment"}


async def post_feedback(request: Request) -> Response:
    workbench = caller_workbench(request)
    body = await read_json(request)
    unknown = set(body) - _FIELDS
    if unknown:
        raise ApiError(400, "INVALID_REQUEST", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    for name in _FIELDS:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise ApiError(400, "INVALID_REQUEST", f"'{name}' must be a string.")
    if not isinstance(body.get("value"), str):
        raise ApiError(400, "INVALID_REQUEST", "'value' ('up' or 'down') is required.")
    given = FeedbackInput(body["value"], body.get("correction"), body.get("comment"))
    feedback = await run_in_threadpool(_submit, workbench, body.get("request_id"), body.get("trace_id"), given)
    return JSONResponse(_describe(feedback), status_code=201)


def _submit(workbench: Workbench, request_id: str | None, trace_id: str | None, given: FeedbackInput) -> Feedback:
    capture = FeedbackCapture(workbench)
    log_id = capture.log_id_for(request_id=request_id, trace_id=trace_id)
    return capture.submit(log_id, given, FeedbackOrigin.API)


def _describe(feedback: Feedback) -> dict[str, object]:
    return {
        "feedback_id": feedback.id, "inference_log_id": feedback.inference_log_id, "endpoint_name": feedback.endpoint_name,
        "model_name": feedback.model_name, "model_version": feedback.model_version, "kind": feedback.kind.value,
        "value": feedback.value, "correction": feedback.correction, "status": feedback.status.value,
    }


ROUTES = [api_route(PATH, post_feedback, ["POST"])]
