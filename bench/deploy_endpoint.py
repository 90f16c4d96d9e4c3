"""DEPLOY figures: a local endpoint serving the real registered chat model (SmolLM2-135M-Instruct,
logged and registered as TRAIN registers a model) over HTTP, at 1 and at 4 concurrent clients,
and what the inference log costs a request.

The endpoint is the API's own routes and middleware in uvicorn (as the app serves them, minus
the pages) with the real model loaded from the local MLflow registry. Each request asks for at
most 16 tokens. The issue sets no latency goal (a CPU model's speed is the machine's); the log's
overhead on a request has one: ≤ 5 % of the median request, measured as the time a request spends
building its log record and handing it to the writer (the insert happens off the request path).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import Measurement, at_most, median, p95, reported
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import Workbench, forget_prepared_stores, open_workbench

MAX_TOKENS = 16
SINGLE_CLIENT_REQUESTS = 12
FOUR_CLIENTS_REQUESTS_EACH = 6
LOG_OVERHEAD_GOAL = 0.05
LOG_RECORDS = 2000
PROMPT = "Invoice INV-{i:04d} from Provider {p} for {amount:.2f}, {days} days outstanding. Is it urgent or routine? Answer in JSON."


def _workbench(home: Path) -> Workbench:
    forget_prepared_stores()
    return open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "bench@mirion.example"}))


def _registered(wb: Workbench) -> tuple[str, str]:
    from data_access.tracking.factory import experiment_name, open_tracker
    from data_access.training.base_model import prepared_base_model

    tracker = open_tracker(wb.settings)
    run = tracker.start_run(experiment_name(wb.settings), "bench-deploy", {})
    source = tracker.log_model(run.run_id, prepared_base_model(wb.settings.model_cache), MAX_TOKENS)
    version = tracker.register(run.run_id, source, "bench_chat_model", "candidate", {})
    return version.name, version.version


def _serve(app: object) -> tuple[object, threading.Thread, int]:
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, port


def _client(port: int, requests: int, offset: int, latencies: list[float], refused: list[int]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        for i in range(offset, offset + requests):
            body = json.dumps({"messages": [{"role": "user", "content": PROMPT.format(i=i, p=i % 9, amount=15 + i * 37 % 900, days=i % 75)}],
                               "max_tokens": MAX_TOKENS})
            start = time.perf_counter()
            connection.request("POST", "/api/v1/serving-endpoints/bench/invocations", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                latencies.append((time.perf_counter() - start) * 1000)
            else:
                refused.append(response.status)
    finally:
        connection.close()


def _at_clients(port: int, clients: int, each: int, offset: int) -> tuple[list[float], list[int]]:
    """Latencies of the answered requests, and the status of each one that was not."""
    latencies: list[float] = []
    refused: list[int] = []
    threads = [threading.Thread(target=_client, args=(port, each, offset + n * each, latencies, refused)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, refused


def _log_cost_ms(wb: Workbench, deployment: object) -> float:
    """Per request: building its log record and handing it to the writer (what the request path pays)."""
    from data_access.serving.served_model import ModelAnswer
    from services.deploy.endpoints import log_record
    from services.deploy.inference_log import InferenceLogStore, InferenceLogWriter
    from services.deploy.records import ChatRequest, ChatTurn, GuardrailResult, RequestSource

    writer = InferenceLogWriter(InferenceLogStore(wb))
    request = ChatRequest((ChatTurn("user", PROMPT.format(i=1, p=1, amount=52.0, days=3)),), MAX_TOKENS)
    answer = ModelAnswer('{"urgency": "routine"}', 60, 8)
    checks = [GuardrailResult("max_tokens", True, "16 of 16")]
    start = time.perf_counter()
    for i in range(LOG_RECORDS):
        writer.add(log_record(deployment, request, answer, checks, None, 1.0, "bench@mirion.example", f"r{i}", f"t{i}",
                           RequestSource.API, False, datetime.now(UTC)))
    per_request = (time.perf_counter() - start) * 1000 / LOG_RECORDS
    writer.stop()
    return per_request


def _answered(latencies: list[float], refused: list[int]) -> str:
    text = f"{len(latencies)} of {len(latencies) + len(refused)} requests answered"
    return text + (f" (refused: {', '.join(map(str, sorted(refused)))})" if refused else "")


def run() -> list[Measurement]:
    from starlette.applications import Starlette

    from api.routes import api_middleware, api_routes
    from services.deploy.endpoints import LocalEndpoints
    from services.deploy.records import DeployableModel

    scratch = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    home = scratch / "home"
    saved_env = {k: os.environ.get(k) for k in ("WORKBENCH_HOME", "WORKBENCH_USER", "WORKBENCH_BACKEND")}
    os.environ.update({"WORKBENCH_HOME": str(home), "WORKBENCH_USER": "bench@mirion.example", "WORKBENCH_BACKEND": "local"})
    try:
        wb = _workbench(home)
        name, version = _registered(wb)
        model = DeployableModel(f"{name}/{version}", name, version, "bench-lineage", "bench-sheet", None, None, None,
                                "SmolLM2-135M-Instruct", None, None, None, None, None, None)
        endpoints = LocalEndpoints(wb)
        deployment = endpoints.deploy(wb, model, "bench", max_tokens=MAX_TOKENS, schema_guardrail=False)
        server, thread, port = _serve(Starlette(routes=api_routes(lambda _wb: endpoints), middleware=api_middleware()))
        try:
            _at_clients(port, 1, 2, 0)  # warm-up: the first answers pay for lazy initialisation
            one, one_refused = _at_clients(port, 1, SINGLE_CLIENT_REQUESTS, 100)
            four, four_refused = _at_clients(port, 4, FOUR_CLIENTS_REQUESTS_EACH, 200)
        finally:
            server.should_exit = True
            thread.join()
            endpoints.stop()
        log_ms = _log_cost_ms(wb, deployment)
    finally:
        forget_prepared_stores()
        release_home(home)
        shutil.rmtree(scratch, ignore_errors=True)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    detail = f"real SmolLM2-135M over HTTP, ≤ {MAX_TOKENS} tokens per answer, one model answering at a time"
    share = log_ms / median(one)
    return [
        reported("Local endpoint, 1 client: p50", round(median(one), 1), "ms", f"{_answered(one, one_refused)}; {detail}"),
        reported("Local endpoint, 1 client: p95", round(p95(one), 1), "ms", detail),
        reported("Local endpoint, 4 clients: p50", round(median(four), 1), "ms", f"{_answered(four, four_refused)}; {detail}"),
        reported("Local endpoint, 4 clients: p95", round(p95(four), 1), "ms", detail),
        at_most("Inference log: cost on a request (share of the 1-client p50)", share * 100, LOG_OVERHEAD_GOAL * 100, "%",
                f"{log_ms * 1000:.0f} µs per request to build and queue its record; the insert runs in the writer thread"),
    ]
