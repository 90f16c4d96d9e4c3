"""read_json on a real Starlette request fed ASGI messages the way uvicorn delivers them."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.requests import Request

from api.http import DRAIN_LIMIT_BYTES, ApiError, read_json


class Client:
    """One HTTP request's receive side: the messages a client's bytes become, counted as read."""

    def __init__(self, messages: list[dict]) -> None:
        self.messages = list(messages)
        self.reads = 0

    async def receive(self) -> dict:
        self.reads += 1
        return self.messages.pop(0)


def request(client: Client, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/api/v1/x", "headers": raw}, client.receive)


def body(*chunks: bytes) -> list[dict]:
    return [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]


def read(client: Client, headers: dict[str, str], limit: int = 10) -> dict:
    return asyncio.run(read_json(request(client, {"content-type": "application/json", **headers}), limit))


def refusal(client: Client, headers: dict[str, str] | None = None, limit: int = 10) -> ApiError:
    with pytest.raises(ApiError) as raised:
        read(client, headers or {}, limit)
    return raised.value


def test_a_body_within_the_limit_is_read_across_chunks():
    assert read(Client(body(b'{"a":', b" 1}")), {}) == {"a": 1}


def test_a_body_over_the_limit_in_one_final_message_is_a_413():
    # The whole body arrives at once: the stream is consumed before the limit is seen.
    refused = refusal(Client(body(json.dumps({"text": "x" * 50}).encode())))
    assert (refused.status, refused.code) == (413, "REQUEST_TOO_LARGE")
    assert "Connection" not in refused.headers  # all of it was read: the connection can serve the next request


def test_a_chunked_body_without_a_length_is_refused_once_read_to_its_end():
    client = Client(body(b"x" * 8, b"x" * 8, b"x" * 8))
    assert refusal(client).status == 413
    assert client.reads == 3 and not client.messages  # drained, so the 413 reaches the caller


def test_a_declared_oversized_body_waiting_for_100_continue_is_refused_before_reading():
    client = Client(body(b"x" * 100))
    refused = refusal(client, {"content-length": "100", "expect": "100-continue"})
    assert refused.status == 413 and client.reads == 0
    assert refused.headers == {"Connection": "close"}  # its unread body must not become the next request


def test_a_body_declared_past_the_drain_limit_is_refused_before_reading():
    client = Client(body(b"x" * 100))
    refused = refusal(client, {"content-length": str(DRAIN_LIMIT_BYTES + 1)})
    assert (refused.status, refused.headers, client.reads) == (413, {"Connection": "close"}, 0)


def test_a_json_refusal_before_reading_closes_the_connection():
    client = Client(body(b"a=1"))
    refused = refusal(client, {"content-type": "application/x-www-form-urlencoded"})
    assert (refused.status, refused.headers, client.reads) == (415, {"Connection": "close"}, 0)


def test_a_client_that_goes_away_mid_body_is_a_clear_refusal_not_a_crash():
    client = Client([*body(b"x" * 4, b"x" * 4)[:1], {"type": "http.disconnect"}])
    refused = refusal(client)
    assert (refused.status, refused.code) == (400, "CLIENT_DISCONNECTED")
