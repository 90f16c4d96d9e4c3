"""`POST /api/v1/feedback` on the real server, by raw HTTP and by the repo's client. The store
holds a deployed urgency model and two logged answers before the server starts (it then holds the
DuckDB file)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from clients.workbench_client import WorkbenchApiError, WorkbenchClient
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from tests.api.test_api_over_http import call
from tests.browser.conftest import ServedApp, start_app, stop_app
from tests.improve_builders import deployed_model
from tests.monitor_builders import logged_request, write_log

URL = "/api/v1/feedback"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    home = tmp_path_factory.mktemp("feedback-api") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "expert@mirion.example"})
    forget_prepared_stores()
    workbench = open_workbench(settings)
    deployed_model(workbench)
    write_log(workbench, [logged_request(1), logged_request(2)])
    forget_prepared_stores()
    release_home(home)
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app
    stop_app(app)


def post(app: ServedApp, body: object) -> tuple[int, dict]:
    reply = call(f"{app.url}{URL}", "POST", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return reply.status, reply.json()


def test_a_correction_by_request_id_is_stored_linked_to_its_answer_and_model_version(served):
    status, body = post(served, {"request_id": "r1", "value": "down", "correction": '{"urgency": "urgent"}', "comment": "Overdue."})
    assert status == 201
    assert (body["inference_log_id"], body["endpoint_name"], body["model_name"], body["model_version"]) == (
        "log-1-1", "urgency", "invoices_urgency_lora", "1")
    assert (body["kind"], body["status"], json.loads(body["correction"])) == ("correction", "open", {"urgency": "urgent"})


@pytest.mark.parametrize(("body", "status", "code", "message"), [
    ({"request_id": "r-unknown", "value": "down"}, 404, "NOT_FOUND", "No logged request with request_id r-unknown: feedback needs a request an endpoint of this workbench answered."),
    ({"trace_id": "trace-2", "value": "down", "correction": '{"urgency": "soon"}'}, 400, "INVALID_REQUEST",
     "The correction does not fit the model's output schema: Field 'urgency' has 'soon'; allowed: routine, urgent."),
    ({"trace_id": "trace-2", "value": "sideways"}, 400, "INVALID_REQUEST", "The value must be 'up' or 'down', not 'sideways'."),
    ({"trace_id": "trace-2"}, 400, "INVALID_REQUEST", "'value' ('up' or 'down') is required."),
    ({"value": "up"}, 400, "INVALID_REQUEST", "Name the answer: a request_id or a trace_id."),
    ({"trace_id": "trace-2", "value": "up", "stars": 5}, 400, "INVALID_REQUEST", "Unknown field(s): stars."),
])
def test_a_bad_feedback_is_refused_in_the_apis_error_shape(served, body, status, code, message):
    assert post(served, body) == (status, {"error": {"code": code, "message": message}})


def test_the_client_sends_a_thumbs_up_by_trace_id_and_raises_the_apis_refusal(served):
    client = WorkbenchClient(served.url)
    sent = client.send_feedback("up", trace_id="trace-2", comment="Right.")
    assert (sent.inference_log_id, sent.kind, sent.status) == ("log-1-2", "rating", "open")
    with pytest.raises(WorkbenchApiError) as refused:
        client.send_feedback("down", request_id="r-unknown")
    assert (refused.value.status, refused.value.code) == (404, "NOT_FOUND")
