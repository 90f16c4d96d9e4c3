"""The serving routes under load over real HTTP: 8 clients × 500 requests to one local endpoint,
and the inference log holds exactly one row per request, each under the id its response carried.

The API's routes and middleware run in uvicorn in this process (so the endpoint can serve a
fast stand-in for the model: the real CPU model answers a few requests a second; it is served
over HTTP by tests/api/test_serving_over_http.py)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette

from api.routes import api_middleware, api_routes
from services.deploy.endpoints import LocalEndpoints
from tests.deploy_builders import run_clients, trained_model
from tests.fakes.served_model import FakeModelLoader, FakeServedModel

CLIENTS = 8
REQUESTS_PER_CLIENT = 500
START_TIMEOUT_S = 30


@pytest.fixture
def endpoint(workbench, monkeypatch) -> Iterator[LocalEndpoints]:
    monkeypatch.setenv("WORKBENCH_HOME", str(workbench.settings.home))
    monkeypatch.setenv("WORKBENCH_USER", "tester@example.com")
    monkeypatch.delenv("WORKBENCH_BACKEND", raising=False)
    model = trained_model(workbench)
    registry = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): FakeServedModel()}), max_queued=64)
    registry.deploy(workbench, model, "urgency")
    yield registry
    registry.stop()


@pytest.fixture
def port(endpoint) -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    app = Starlette(routes=api_routes(lambda _wb: endpoint), middleware=api_middleware())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield free
    server.should_exit = True
    thread.join()


def test_eight_clients_over_http_leave_one_log_row_per_request_under_its_response_id(workbench, endpoint, port):
    received: list[list[str]] = [[] for _ in range(CLIENTS)]
    failures: list[str] = []

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for i in range(REQUESTS_PER_CLIENT):
                body = json.dumps({"messages": [{"role": "user", "content": f"client {number} request {i}"}]})
                connection.request("POST", "/api/v1/serving-endpoints/urgency/invocations", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = json.loads(response.read())
                if response.status != 200:
                    failures.append(f"{response.status}: {payload}")
                    continue
                received[number].append(response.getheader("X-Request-Id"))
        finally:
            connection.close()

    run_clients(client, CLIENTS)
    endpoint.stop()  # the clean stop: whatever the writer still holds is written

    assert failures == []
    ids = [rid for per_client in received for rid in per_client]
    assert len(ids) == len(set(ids)) == CLIENTS * REQUESTS_PER_CLIENT
    rows = workbench.backend.engine.query(f"SELECT request_id, status_code, requester FROM {workbench.table('inference_log')}")
    assert len(rows) == CLIENTS * REQUESTS_PER_CLIENT
    assert sorted(r["request_id"] for r in rows) == sorted(ids)  # none lost, none twice, each under its own id
    assert {(r["status_code"], r["requester"]) for r in rows} == {(200, "tester@example.com")}
