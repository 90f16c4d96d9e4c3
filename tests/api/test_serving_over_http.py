"""A registered model (the real SmolLM2 chat model, logged as TRAIN logs it) deployed to a local
endpoint of the real server and called over HTTP: the Databricks invocations shape, the
OpenAI-compatible form through the workbench's own OpenAI client, the errors, and the inference
log written in full by the time a clean stop ends the process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from data_access.llm.chat import ChatMessage
from data_access.llm.chat import ChatRequest as ClientChatRequest
from data_access.llm.openai_compatible import OpenAICompatibleChat
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from tests.api.test_api_over_http import call
from tests.browser.conftest import ServedApp, start_app, stop_app
from tests.deploy_builders import trained_model
from tests.registered_model import install_registry

pytestmark = pytest.mark.slow
ENDPOINT = "urgency"
ASK = {"messages": [{"role": "system", "content": "You triage medical invoices. Answer JSON."},
                    {"role": "user", "content": "Invoice INV-0042 for 420.00."}], "max_tokens": 4}


def post(url: str, body: dict | bytes, headers: dict[str, str] | None = None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(url, "POST", data, {"Content-Type": "application/json", **(headers or {})})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, registered_chat_model) -> Iterator[ServedApp]:
    home = tmp_path_factory.mktemp("serving") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "builder@example.com"})
    install_registry(registered_chat_model, home)
    forget_prepared_stores()
    trained_model(open_workbench(settings), model_name=registered_chat_model.name)
    forget_prepared_stores()
    release_home(home)
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app
    stop_app(app)


def test_deploying_a_registered_version_over_the_api_makes_a_ready_endpoint(served, registered_chat_model):
    reply = post(f"{served.url}/api/v1/serving-endpoints", {"name": ENDPOINT, "model_id": f"{registered_chat_model.name}/1", "max_tokens": 8})
    assert reply.status == 200, reply.body
    assert reply.json()["state"] == {"ready": "READY"}
    assert reply.json()["served_model"] == {"name": registered_chat_model.name, "version": "1"}
    assert reply.json()["config"]["pii_guardrail"] == "flag"
    listed = call(f"{served.url}/api/v1/serving-endpoints").json()["endpoints"]
    assert [e["name"] for e in listed] == [ENDPOINT]
    assert call(f"{served.url}/api/v1/openai/v1/models").json()["data"][0]["id"] == ENDPOINT


def test_the_endpoint_answers_in_the_databricks_chat_shape(served):
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    reply = post(f"{served.url}/api/v1/serving-endpoints/{ENDPOINT}/invocations", ASK, {"X-Request-Id": "req-1", "traceparent": traceparent})
    assert reply.status == 200, reply.body
    body = reply.json()
    assert reply.headers["x-request-id"] == "req-1" and body["id"] == "chatcmpl-req-1"
    assert body["object"] == "chat.completion" and body["model"] == ENDPOINT
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant" and isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in ("stop", "length")
    assert body["usage"]["prompt_tokens"] > 10 and 0 < body["usage"]["completion_tokens"] <= 4
    assert body["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert [g["name"] for g in body["guardrails"]] == ["max_tokens", "output_schema", "pii"]


def test_an_openai_client_uses_the_endpoint_as_a_model_server(served):
    client = OpenAICompatibleChat(f"{served.url}/api/v1/openai/v1", default_model=ENDPOINT)
    result = client.complete(ClientChatRequest((ChatMessage("user", "Say hello."),), "", 0.0, 3, "client-1"))
    client.close()
    assert result.ok and isinstance(result.text, str), result
    assert 0 < result.completion_tokens <= 3 and result.model == ENDPOINT


def test_bad_requests_are_refused_with_their_status(served):
    url = f"{served.url}/api/v1/serving-endpoints/{ENDPOINT}/invocations"
    assert post(url, {"messages": []}).json()["error"]["code"] == "INVALID_REQUEST"
    assert post(url, b"{not json").status == 400
    assert post(url, {"messages": [{"role": "user", "content": "x" * 1_100_000}]}).status == 413
    assert call(url, "POST", b"{}", {"Content-Type": "text/plain"}).status == 415
    too_many = post(url, {**ASK, "max_tokens": 500})
    assert too_many.status == 400 and too_many.json()["error"]["code"] == "GUARDRAIL_REFUSED"
    assert post(f"{served.url}/api/v1/serving-endpoints/nothing/invocations", ASK).status == 404
    assert post(f"{served.url}/api/v1/serving-endpoints", {"name": "x", "model_id": "no-such-model/9"}).status == 404
    unknown_pii = post(f"{served.url}/api/v1/serving-endpoints", {"name": "x", "model_id": "no-such-model/9", "pii_guardrail": "redact"})
    assert unknown_pii.status == 400 and "'pii_guardrail'" in unknown_pii.json()["error"]["message"]


def test_a_clean_stop_leaves_every_answered_and_refused_request_in_the_log(served):
    stop_app(served)
    release_home(served.home)
    settings = load_settings({"WORKBENCH_HOME": str(served.home), "WORKBENCH_DEMO_DATA": "0"})
    forget_prepared_stores()
    workbench = open_workbench(settings)
    rows = workbench.backend.engine.query(
        f"SELECT request_id, status_code, requester, trace_id, model_version FROM {workbench.table('inference_log')} ORDER BY created_at"
    )
    release_home(served.home)
    forget_prepared_stores()
    # Two answers and one guardrail refusal reached the endpoint; malformed bodies and unknown endpoints did not.
    assert [r["status_code"] for r in rows] == [200, 200, 400]
    assert rows[0]["request_id"] == "req-1" and rows[0]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert {r["requester"] for r in rows} == {"expert@mirion.example"} and {r["model_version"] for r in rows} == {"1"}
