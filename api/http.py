"""JSON in and out for every API route: request ids, size limits, and errors in one shape.

Every response under `/api/` carries `X-Request-Id` (the caller's, when it sent a usable one);
every error is `{"error": {"code", "message"}}` with the HTTP status that fits it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.core.errors import NotFoundError, StaleWriteError, UnavailableError, ValidationError, WorkbenchError
from services.deploy.serving_errors import http_status

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
REQUEST_ID_HEADER = "X-Request-Id"
# A chat request (messages of a few items, a rendered source record) fits well under this;
# a larger body is refused and dropped as it arrives, so one caller cannot fill the app's memory.
MAX_BODY_BYTES = 1_000_000
DRAIN_LIMIT_BYTES = 64_000_000  # past this a sender is hostile, and a reset is the right answer
# A caller's own id is echoed only when it is short and plain (it ends up in logs and headers).
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_USABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")
# On a refusal sent before the body was read: the server would otherwise keep the connection and
# take the unread body for the caller's next request, or keep draining a sender past the limit.
_CLOSE = {"Connection": "close"}


class ApiError(Exception):
    """A refusal with its HTTP status and a stable, machine-readable code."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def request_id(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id") or ""


class RequestIdMiddleware:
    """Gives every API request an id (kept in the request's state) and puts it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        rid = given if _USABLE_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode("latin-1"))]}
            await send(message)

        await self.app(scope, receive, send_with_id)


async def read_json(request: Request, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The request's JSON object; 413 past `limit` bytes (counted as they arrive, whatever
    Content-Length says), 415 when it is not JSON, 400 when it is not an object."""
    _refuse_declared_too_large(request, limit)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json":
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the request body as JSON (Content-Type: application/json).", _CLOSE)
    body = await _read_body(request, limit)
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "INVALID_JSON", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError(400, "INVALID_REQUEST", "The request body must be a JSON object.")
    return value


def _too_large(limit: int, unread: bool) -> ApiError:
    return ApiError(413, "REQUEST_TOO_LARGE", f"The request body is larger than {limit:,} bytes.", _CLOSE if unread else None)


def _refuse_declared_too_large(request: Request, limit: int) -> None:
    """Refuse before reading a byte when the caller said its body is too large and either waits
    for our go-ahead (Expect: 100-continue: reading would invite the upload) or announced more
    than we would ever drain."""
    declared = request.headers.get("content-length", "")
    if not (declared.isascii() and declared.isdigit()) or int(declared) <= limit:  # int() refuses digits like "²"
        return
    waits_to_send = request.headers.get("expect", "").lower() == "100-continue"
    if waits_to_send or int(declared) > DRAIN_LIMIT_BYTES:
        raise _too_large(limit, unread=True)


async def _read_body(request: Request, limit: int) -> bytes:
    """The whole body, read in one pass. Past `limit` the rest is read and dropped, up to
    DRAIN_LIMIT_BYTES, before the 413: a server that closes on unread bytes resets the
    connection, and the client sees a broken pipe instead of the answer that says what was wrong."""
    body = bytearray()
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received <= limit:
                body += chunk
            elif received > DRAIN_LIMIT_BYTES:
                raise _too_large(limit, unread=True)
    except ClientDisconnect:
        raise ApiError(400, "CLIENT_DISCONNECTED", "The client went away before sending the whole body.") from None
    if received > limit:
        raise _too_large(limit, unread=False)
    return bytes(body)


Handler = Callable[[Request], Awaitable[Response]]

# Domain errors a caller can cause, and the status each means.
_DOMAIN_STATUS: tuple[tuple[type[WorkbenchError], int, str], ...] = (
    (ValidationError, 400, "INVALID_REQUEST"),
    (NotFoundError, 404, "NOT_FOUND"),
    (StaleWriteError, 409, "CONFLICT"),
    (UnavailableError, 503, "UNAVAILABLE"),
)
# A serving endpoint's refusals (services/deploy/serving_errors.py), by the status they mean.
_SERVING_CODES = {400: "GUARDRAIL_REFUSED", 429: "ENDPOINT_BUSY", 500: "MODEL_ERROR", 503: "ENDPOINT_NOT_READY", 504: "ENDPOINT_TIMEOUT"}


def domain_status(error: WorkbenchError) -> tuple[int, str]:
    serving = http_status(error)
    if serving is not None:
        return serving, _SERVING_CODES[serving]
    return next(((s, c) for kind, s, c in _DOMAIN_STATUS if isinstance(error, kind)), (400, "INVALID_REQUEST"))


def api_route(path: str, handler: Handler, methods: Sequence[str]) -> Route:
    """A route whose every outcome is JSON: a wrong method is a JSON 405, a domain error its
    status, anything unexpected a 500 that names the request id (the log has the rest)."""
    allowed = tuple(m.upper() for m in methods) + (("HEAD",) if "GET" in methods else ())

    async def endpoint(request: Request) -> Response:
        if request.method not in allowed:
            return error_response(405, "METHOD_NOT_ALLOWED", f"{path} accepts {', '.join(allowed)}.", {"Allow": ", ".join(allowed)})
        try:
            return await handler(request)
        except ApiError as error:
            return error_response(error.status, error.code, error.message, error.headers)
        except WorkbenchError as error:
            status, code = domain_status(error)
            return error_response(status, code, str(error), {"Retry-After": "1"} if status == 429 else None)
        except Exception:
            log.exception("API request %s failed", request_id(request))
            return error_response(500, "INTERNAL_ERROR", f"The request failed inside the workbench (request id {request_id(request)}).")

    # Every method reaches the endpoint, so a wrong one gets the JSON 405 above.
    return Route(path, endpoint, methods=ALL_METHODS, name=path)


async def _no_such_route(request: Request) -> Response:
    return error_response(404, "NOT_FOUND", f"There is no API route {request.url.path}.")


def not_found_route() -> Route:
    """Last of the API's routes: an unknown /api path gets a JSON 404, not the app's HTML."""
    return Route("/api/{rest:path}", _no_such_route, methods=ALL_METHODS)
