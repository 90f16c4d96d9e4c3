"""The workbench API on the real server (serve.py → asgi.py), called over HTTP beside the pages."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pytest

from tests.browser.conftest import ServedApp, start_app, stop_app


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


# Longer than the server's own 120 s per request: deploying loads a model, which took over a
# minute on a loaded 2-core machine; the server's answer, not the client, must end a slow call.
CLIENT_TIMEOUT_S = 300


def call(url: str, method: str = "GET", body: bytes | Iterable[bytes] | None = None, headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT_S) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    app = start_app(tmp_path_factory.mktemp("api") / "home", {"WORKBENCH_DEMO_DATA": "0"})
    yield app
    stop_app(app)


def test_the_api_answers_as_the_local_user_with_a_request_id(served):
    reply = call(f"{served.url}/api/v1/me")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    assert reply.json() == {"email": "expert@mirion.example", "display_name": "expert", "backend": "local"}
    assert len(reply.headers["x-request-id"]) == 32
    assert call(f"{served.url}/api/v1/me").headers["x-request-id"] != reply.headers["x-request-id"]


def test_a_callers_plain_request_id_is_kept_and_an_unusable_one_replaced(served):
    assert call(f"{served.url}/api/v1/me", headers={"X-Request-Id": "client-42.a"}).headers["x-request-id"] == "client-42.a"
    replaced = call(f"{served.url}/api/v1/me", headers={"X-Request-Id": "x" * 200}).headers["x-request-id"]
    assert replaced != "x" * 200 and len(replaced) == 32


def test_an_unknown_route_and_a_wrong_method_are_json_errors(served):
    missing = call(f"{served.url}/api/v1/no-such-thing")
    assert missing.status == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert "x-request-id" in missing.headers
    wrong = call(f"{served.url}/api/v1/me", method="DELETE")
    assert wrong.status == 405 and wrong.json()["error"] == {"code": "METHOD_NOT_ALLOWED", "message": "/api/v1/me accepts GET, HEAD."}
    assert wrong.headers["allow"] == "GET, HEAD"


def test_the_pages_are_served_on_the_same_port(served):
    assert call(f"{served.url}/_stcore/health").body == b"ok"
    home = call(f"{served.url}/")
    assert home.status == 200 and b"<!doctype html>" in home.body.lower()
    assert "x-request-id" not in home.headers  # the API's middleware leaves the pages alone


def test_a_body_too_large_is_answered_413_even_while_the_client_is_still_sending(served):
    # Eight megabytes outlast the loopback socket buffers: a server that answered and closed without
    # reading them would reset the connection, and the caller would see a broken pipe, not the 413.
    reply = call(f"{served.url}/api/v1/serving-endpoints", "POST", b" " * 8_000_000, {"Content-Type": "application/json"})
    assert reply.status == 413 and reply.json()["error"]["code"] == "REQUEST_TOO_LARGE"


def test_a_chunked_body_too_large_without_a_length_is_answered_413(served):
    # An iterable body goes out with Transfer-Encoding: chunked and no Content-Length.
    chunks = (b" " * 100_000 for _ in range(30))
    reply = call(f"{served.url}/api/v1/serving-endpoints", "POST", chunks, {"Content-Type": "application/json"})
    assert reply.status == 413 and reply.json()["error"]["code"] == "REQUEST_TOO_LARGE"


def test_a_body_too_large_waiting_for_100_continue_is_refused_at_once_and_the_connection_closed(served):
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as raw:
        raw.sendall(b"POST /api/v1/serving-endpoints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2000000\r\nExpect: 100-continue\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):  # the server closing ends this loop; a kept connection would time out
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "REQUEST_TOO_LARGE"
