"""The chat request and response as Databricks Model Serving and OpenAI-compatible servers have
them (`messages` in; `choices[0].message`, `usage` out), so a client written for either works
against a local endpoint. Streaming and several choices are refused plainly, not half-done."""

from __future__ import annotations

import re
from typing import Any

from api.http import ApiError
from services.deploy.records import ChatReply, ChatRequest, ChatTurn

ROLES = ("system", "user", "assistant")
MAX_MESSAGES = 200  # a long chat; more is a client sending a log, not a conversation
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}\Z")


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_REQUEST", message)


def chat_request(body: dict[str, Any]) -> ChatRequest:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("'messages' must be a non-empty list of {role, content}.")
    if len(messages) > MAX_MESSAGES:
        raise _invalid(f"At most {MAX_MESSAGES} messages per request.")
    if body.get("stream"):
        raise _invalid("Streaming is not offered by local endpoints; send the request without 'stream'.")
    if body.get("n", 1) != 1:
        raise _invalid("Local endpoints give one answer per request ('n' must be 1).")
    limit = body.get("max_tokens", body.get("max_completion_tokens"))
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise _invalid("'max_tokens' must be a whole number.")
    return ChatRequest(tuple(_turn(i, m) for i, m in enumerate(messages)), limit)


def _turn(index: int, message: Any) -> ChatTurn:
    if not isinstance(message, dict):
        raise _invalid(f"messages[{index}] must be an object with 'role' and 'content'.")
    role = message.get("role")
    if role not in ROLES:
        raise _invalid(f"messages[{index}].role must be one of {', '.join(ROLES)}.")
    return ChatTurn(role, _text(index, message.get("content")))


def _text(index: int, content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: the served models read text only
        if any(not isinstance(p, dict) or p.get("type") != "text" or not isinstance(p.get("text"), str) for p in content):
            raise _invalid(f"messages[{index}].content: this endpoint's model reads text parts only (no images).")
        return "\n".join(p["text"] for p in content)
    raise _invalid(f"messages[{index}].content must be text.")


def trace_id_from(traceparent: str | None) -> str | None:
    """The caller's W3C trace id, so a request can be followed from its client into the log."""
    match = _TRACEPARENT.match((traceparent or "").strip().lower())
    return match.group(1) if match and match.group(1) != "0" * 32 else None


def chat_response(reply: ChatReply, model: str) -> dict[str, Any]:
    usage = None
    if reply.prompt_tokens is not None and reply.completion_tokens is not None:
        usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                 "total_tokens": reply.prompt_tokens + reply.completion_tokens}
    return {
        "id": f"chatcmpl-{reply.request_id}",
        "object": "chat.completion",
        "created": int(reply.created_at.timestamp()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                     "finish_reason": "length" if reply.hit_token_limit else "stop"}],
        "usage": usage,
        # The workbench's own additions; clients that do not know them ignore them.
        "served_model": {"name": reply.model_name, "version": reply.model_version},
        "guardrails": [g.as_json() for g in reply.guardrails],
        "trace_id": reply.trace_id,
    }
