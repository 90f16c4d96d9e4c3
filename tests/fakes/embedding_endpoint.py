"""A loopback fake of a Databricks embedding serving endpoint's wire protocol.

`POST /serving-endpoints/{name}/invocations` with `{"input": [...]}` answers like a Foundation
Model API embedding endpoint: `{"object": "list", "data": [{"object": "embedding", "index": i,
"embedding": [...]}], ...}`. Vectors are derived from the text, so equal texts get equal
vectors. Data comes back in reverse order (indices intact), as the protocol allows.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

_PATH = re.compile(r"^/serving-endpoints/(?P<name>[^/]+)/invocations\Z")


def fake_vector(text: str, dimension: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dimension).astype(np.float32).tolist()


@dataclass
class FakeEmbeddingEndpoint:
    endpoint_name: str
    token: str = "fake-token"
    dimension: int = 8
    requests: list[list[str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeEmbeddingEndpoint:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                match = _PATH.match(self.path)
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._answer(401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
                if not match or match["name"] != fake.endpoint_name:
                    name = match["name"] if match else self.path
                    return self._answer(
                        404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Endpoint {name} does not exist."}
                    )
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                texts = body.get("input")
                if isinstance(texts, str):
                    texts = [texts]
                if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
                    return self._answer(
                        400, {"error_code": "BAD_REQUEST", "message": "input must be a string or a list of strings."}
                    )
                fake.requests.append(texts)
                data = [
                    {"object": "embedding", "index": i, "embedding": fake_vector(t, fake.dimension)}
                    for i, t in enumerate(texts)
                ]
                self._answer(
                    200,
                    {
                        "object": "list",
                        "model": fake.endpoint_name,
                        "data": data[::-1],
                        "usage": {"prompt_tokens": sum(len(t.split()) for t in texts), "total_tokens": 0},
                    },
                )

            def _answer(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
