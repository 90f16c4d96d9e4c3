"""The OpenAI chat-completions wire format, shared by every HTTP chat model.

Databricks Model Serving's `/serving-endpoints/{name}/invocations` speaks the same JSON for chat
endpoints as `/chat/completions` on Ollama or vLLM, so one module builds the body, posts it on a
pooled connection, maps failures to the seam's errors and reads the answer.
"""

from __future__ import annotations

import base64
import email.utils
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from data_access.llm.chat import (
    MAX_CONCURRENCY,
    ChatMessage,
    ChatRequest,
    ChatResult,
    ModelError,
    RetryableModelError,
    TextPart,
)

# A server that has not accepted the connection within this is down or unreachable, however
# long its answers take; the read timeout is the caller's per-request budget.
CONNECT_TIMEOUT_S = 10.0
# Enough of a server's error body to say what went wrong without bloating the item's record.
ERROR_DETAIL_CHARS = 300
# Hosts a session keeps pools for: one chat server, or one workspace, per model object.
POOL_HOSTS = 4

# 408 (request timeout) and 429 (throttled) are transient by definition; so is every 5xx.
_RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})


def pooled_session() -> requests.Session:
    """A session whose pool keeps one live connection per possible concurrent call.

    Retries are off here: the batch runner owns them, with backoff, Retry-After and cancellation.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=POOL_HOSTS, pool_maxsize=MAX_CONCURRENCY, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def message_json(message: ChatMessage) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        else:
            encoded = base64.b64encode(part.data).decode("ascii")
            parts.append({"type": "image_url", "image_url": {"url": f"data:{part.mime_type};base64,{encoded}"}})
    return {"role": message.role, "content": parts}


def request_body(request: ChatRequest, model: str | None) -> dict[str, Any]:
    """The chat-completions body; `model` is left out where the URL already names the model."""
    body: dict[str, Any] = {
        "messages": [message_json(message) for message in request.messages],
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    if model:
        body["model"] = model
    return body


def complete_over_http(
    session: requests.Session,
    url: str,
    body: dict[str, Any],
    *,
    request_id: str,
    headers: Mapping[str, str],
    timeout_s: float,
    fallback_model: str,
    max_body_bytes: int | None = None,
) -> ChatResult:
    """One POST of `body` to `url`; raises the seam's errors, returns the answer as a result."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if max_body_bytes is not None and len(data) > max_body_bytes:
        raise ModelError(
            f"The request is {len(data) / 1e6:.1f} MB and the server accepts at most {max_body_bytes / 1e6:.0f} MB:"
            " send smaller or fewer images."
        )
    started = time.perf_counter()
    try:
        response = session.post(
            url,
            data=data,
            headers={**headers, "Content-Type": "application/json"},
            timeout=(min(CONNECT_TIMEOUT_S, timeout_s), timeout_s),
        )
        payload = _read_reply(response)
    except requests.Timeout as error:
        raise RetryableModelError(f"No answer within {timeout_s:g} s from {url}.") from error
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
        raise RetryableModelError(f"The connection to {url} failed: {_first_line(error)}") from error
    except requests.RequestException as error:
        raise ModelError(f"Could not send the request to {url}: {_first_line(error)}") from error
    latency_ms = (time.perf_counter() - started) * 1000.0
    return _result(request_id, payload, latency_ms, fallback_model)


def _read_reply(response: requests.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        detail = f"HTTP {response.status_code}: {_error_detail(response)}"
        if response.status_code in _RETRYABLE_CLIENT_STATUSES or response.status_code >= 500:
            raise RetryableModelError(detail, retry_after_s=parse_retry_after(response.headers.get("Retry-After")))
        raise ModelError(detail)
    try:
        payload = response.json()
    except ValueError as error:
        raise ModelError(f"The server's reply is not JSON: {response.text[:ERROR_DETAIL_CHARS]!r}") from error
    if not isinstance(payload, dict):
        raise ModelError("The server's reply is not a chat completion.")
    return payload


def _result(request_id: str, payload: dict[str, Any], latency_ms: float, fallback_model: str) -> ChatResult:
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ModelError("The server's reply has no choices.")
    message = choices[0].get("message") or {}
    text = _message_text(message.get("content") if isinstance(message, dict) else None)
    if text is None:
        reason = choices[0].get("finish_reason") or "unknown"
        raise ModelError(f"The model returned no text (finish_reason: {reason}).")
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    return ChatResult(
        request_id=request_id,
        text=text,
        error=None,
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        latency_ms=latency_ms,
        attempts=1,
        model=str(payload.get("model") or fallback_model),
    )


def _message_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        # Reasoning models on Databricks answer with parts: reasoning summaries, then the text.
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        ]
        return "".join(texts) if texts else None
    return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: either delay-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_detail(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:ERROR_DETAIL_CHARS] or response.reason or "no detail"
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:ERROR_DETAIL_CHARS]
        if isinstance(error, str):
            return error[:ERROR_DETAIL_CHARS]
        if payload.get("message"):  # Databricks: {"error_code": ..., "message": ...}
            code = payload.get("error_code")
            return (
                f"{code}: {payload['message']}"[:ERROR_DETAIL_CHARS]
                if code
                else str(payload["message"])[:ERROR_DETAIL_CHARS]
            )
    return str(payload)[:ERROR_DETAIL_CHARS]


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:ERROR_DETAIL_CHARS]
