"""A loopback webhook receiver: a real HTTP server that records every POST's JSON body and
answers with the statuses it is scripted to give, in order (then 200), or stays silent past the
client's timeout for the statuses scripted as `SLOW`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW = -1  # scripted in place of a status: the answer comes after `slow_s`


@dataclass
class WebhookReceiver:
    statuses: list[int] = field(default_factory=list)
    slow_s: float = 2.0
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    def record(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.received.append(body)


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
            receiver.record(body)
            status = receiver.next_status()
            if status == SLOW:
                time.sleep(receiver.slow_s)
                status = 200
            payload = b'{"ok": true}' if status < 400 else b'{"error": "scripted failure"}'
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                pass

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(statuses: list[int] | None = None, slow_s: float = 2.0) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(list(statuses or []), slow_s)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
