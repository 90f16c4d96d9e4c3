"""A scripted loopback fake of an OpenAI-compatible chat server and of Databricks chat endpoints.

It answers `POST …/chat/completions` (Ollama, vLLM) and `POST /serving-endpoints/{name}/invocations`
(Databricks Model Serving) with the chat-completions JSON, and `GET /.well-known/databricks-config`
so a real `WorkspaceClient` can be pointed at it.

What each request gets is scripted, deterministically: a prompt (the last user message's text)
listed in `ChatScript.forced` gets its outcomes in order, one per time it is sent; any other
prompt draws its outcome from `ChatScript.rates` by hashing the seed, the prompt and how many
times it has been sent, so a retry can succeed where the first try failed, and two runs of the
same script meet the same faults. Every request is recorded, and so is the most that were in
flight at once.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_INVOCATIONS = re.compile(r"^/serving-endpoints/(?P<name>[^/]+)/invocations\Z")
FAKE_WORKSPACE_ID = "7474650123456789"
# Connections the listener queues: the batch runner may open up to 64 at once.
_LISTEN_BACKLOG = 128


class Outcome(StrEnum):
    ANSWER = "answer"  # 200 with expected_answer(prompt)
    MALFORMED_JSON = "malformed_json"  # 200 whose text is broken JSON
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After
    SERVER_ERROR = "server_error"  # 500
    UNAVAILABLE = "unavailable"  # 503
    BAD_REQUEST = "bad_request"  # 400: a refusal no retry cures
    TOO_SLOW = "too_slow"  # answers only after ChatScript.slow_s, past any sane client timeout
    DROPPED = "dropped"  # closes the connection without a response


@dataclass(frozen=True)
class ChatScript:
    seed: int = 0
    latency_s: float = 0.0
    rates: Mapping[Outcome, float] = field(default_factory=dict)  # the rest are answers
    forced: Mapping[str, tuple[Outcome, ...]] = field(default_factory=dict)
    retry_after: str | None = "1"  # the 429's Retry-After header, verbatim
    slow_s: float = 30.0
    model: str = "fake-chat-1"
    answer: Callable[[Mapping[str, Any]], str] | None = None  # the request body → the answer's text; None: expected_answer


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]
    outcome: Outcome


def expected_answer(prompt: str) -> str:
    """The right answer to `prompt`: a JSON object derived from it."""
    return json.dumps({"echo": prompt, "words": len(prompt.split())})


def malformed_answer(prompt: str) -> str:
    return expected_answer(prompt)[:-3]


def message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content or [] if part.get("type") == "text")


def prompt_of(body: Mapping[str, Any]) -> str:
    users = [message for message in body.get("messages", []) if message.get("role") == "user"]
    return message_text(users[-1]) if users else ""


class FakeChatServer:
    def __init__(self, script: ChatScript | None = None) -> None:
        self._script = script or ChatScript()
        self._lock = threading.Lock()
        self._received: list[ReceivedRequest] = []
        self._sent = Counter[str]()
        self._in_flight = 0
        self._max_in_flight = 0
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self), bind_and_activate=False)
        self._server.request_queue_size = _LISTEN_BACKLOG
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeChatServer:
        self._server.server_bind()
        self._server.server_activate()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # releases handlers parked in latency or TOO_SLOW
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeChatServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- what tests set and read ----------------------------------------------------------
    @property
    def host(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.host}/v1"

    def use(self, script: ChatScript) -> None:
        """Replace the script and forget what was sent (the counts decide outcomes)."""
        with self._lock:
            self._script = script
            self._sent.clear()

    @property
    def received(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._received)

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._max_in_flight

    # -- serving --------------------------------------------------------------------------
    def _decide(self, path: str, headers: Mapping[str, str], body: Mapping[str, Any]) -> tuple[Outcome, ChatScript]:
        prompt = prompt_of(body)
        with self._lock:
            script = self._script
            sent_before = self._sent[prompt]
            self._sent[prompt] += 1
            forced = script.forced.get(prompt, ())
            outcome = Outcome(forced[sent_before]) if sent_before < len(forced) else _drawn(script, prompt, sent_before)
            self._received.append(ReceivedRequest(path, {k.lower(): v for k, v in headers.items()}, body, outcome))
            return outcome, script

    @contextmanager
    def _counted(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._closing.wait(seconds)


def _drawn(script: ChatScript, prompt: str, sent_before: int) -> Outcome:
    digest = hashlib.sha256(f"{script.seed}\x00{sent_before}\x00{prompt}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    for outcome, rate in script.rates.items():
        if draw < rate:
            return outcome
        draw -= rate
    return Outcome.ANSWER


def _completion(body: Mapping[str, Any], text: str, model: str) -> dict[str, Any]:
    prompt_words = sum(len(message_text(message).split()) for message in body.get("messages", []))
    completion_words = len(text.split())
    return {
        "id": f"chatcmpl-{hashlib.sha1(text.encode()).hexdigest()[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_words,
            "completion_tokens": completion_words,
            "total_tokens": prompt_words + completion_words,
        },
    }


def _error(databricks: bool, status: int, code: str, message: str) -> dict[str, Any]:
    if databricks:
        return {"error_code": code, "message": message}
    return {"error": {"message": message, "type": code.lower(), "code": status}}


def _handler_for(fake: FakeChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do, so pooled connections are reused
        # Real servers (uvicorn, Ollama's Go server) set TCP_NODELAY; without it the body, written
        # after the headers, waits for the client's delayed ACK (~40 ms on Linux) on every reply.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            if urlsplit(self.path).path == "/.well-known/databricks-config":
                return self._reply(200, {"workspace_id": FAKE_WORKSPACE_ID})
            self._reply(404, _error(False, 404, "NOT_FOUND", f"No route for GET {self.path}"))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            path = urlsplit(self.path).path
            databricks = _INVOCATIONS.match(path) is not None
            if not databricks and not path.endswith("/chat/completions"):
                return self._reply(404, _error(False, 404, "NOT_FOUND", f"No route for POST {path}"))
            with fake._counted():
                body = json.loads(raw)
                outcome, script = fake._decide(path, self.headers, body)
                fake._pause(script.latency_s)
                self._answer(outcome, script, body, databricks)

        def _answer(self, outcome: Outcome, script: ChatScript, body: Mapping[str, Any], databricks: bool) -> None:
            prompt = prompt_of(body)
            if outcome is Outcome.ANSWER:
                self._reply(200, _completion(body, script.answer(body) if script.answer else expected_answer(prompt), script.model))
            elif outcome is Outcome.MALFORMED_JSON:
                self._reply(200, _completion(body, malformed_answer(prompt), script.model))
            elif outcome is Outcome.RATE_LIMITED:
                headers = {"Retry-After": script.retry_after} if script.retry_after is not None else {}
                self._reply(429, _error(databricks, 429, "REQUEST_LIMIT_EXCEEDED", "Rate limit exceeded."), headers)
            elif outcome is Outcome.SERVER_ERROR:
                self._reply(500, _error(databricks, 500, "INTERNAL_ERROR", "The model crashed."))
            elif outcome is Outcome.UNAVAILABLE:
                self._reply(503, _error(databricks, 503, "TEMPORARILY_UNAVAILABLE", "The model is loading."))
            elif outcome is Outcome.BAD_REQUEST:
                self._reply(400, _error(databricks, 400, "BAD_REQUEST", "max_tokens is too large for this model."))
            elif outcome is Outcome.TOO_SLOW:
                fake._pause(script.slow_s)
                self._reply(200, _completion(body, expected_answer(prompt), script.model))
            else:  # DROPPED
                self.close_connection = True

        def _reply(self, status: int, payload: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
            raw = json.dumps(payload).encode("utf-8")
            try:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (its timeout) before the answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
