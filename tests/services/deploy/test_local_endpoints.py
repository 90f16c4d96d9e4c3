"""Local endpoints: deploying a registered version, answering through its queue and guardrails,
and the deployments table. The model is a stand-in behind the serving seam (the real registered
model is served in tests/api/test_serving_over_http.py)."""

from __future__ import annotations

import json
import threading

import pytest

from services.core.errors import NotFoundError, ValidationError
from services.deploy.deployable_models import DeployableModels
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.endpoints import LocalEndpoints, endpoint_name_for
from services.deploy.inference_log import InferenceLogStore
from services.deploy.records import ChatRequest, ChatTurn, DeploymentStatus, PiiAction, RequestSource
from services.deploy.serving_errors import (
    AnswerWithheld,
    EndpointBusyError,
    EndpointNotReadyError,
    EndpointTimeoutError,
    GuardrailRefusal,
    ModelError,
)
from services.monitor.log_scope import LogScope, Window
from services.monitor.versions_compared import compare_versions
from tests.deploy_builders import trained_model
from tests.fakes.served_model import FakeModelLoader, FakeServedModel

ASK = ChatRequest((ChatTurn("system", "You triage medical invoices."), ChatTurn("user", "Invoice INV-0042 for 420.00.")))


@pytest.fixture
def model(workbench):
    return trained_model(workbench)


@pytest.fixture
def served(model):
    return FakeServedModel()


@pytest.fixture
def endpoints(workbench, model, served):
    registry = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): served}))
    yield registry
    registry.stop()


def logged(workbench) -> list[dict]:
    return workbench.backend.engine.query(f"SELECT * FROM {workbench.table('inference_log')} ORDER BY created_at")


def test_a_registered_version_is_offered_with_its_training_sheet_base_model_and_evaluation(workbench, model):
    (listed,) = DeployableModels(workbench).list()
    assert listed == model
    assert model.model_id == "invoices_urgency_lora/1" and model.training_sheet_name
    assert model.base_model == "SmolLM2-135M-Instruct" and model.trained_at is not None
    assert (model.accuracy, model.base_accuracy, model.evaluation_pair_count) == (0.75, 0.25, 4)
    assert model.template_id is not None
    assert endpoint_name_for(model) == "invoices_urgency_lora-v1"


def test_deploying_records_a_ready_endpoint_that_answers_and_checks_the_output_schema(workbench, model, endpoints, served):
    deployed = endpoints.deploy(workbench, model, "urgency", max_tokens=32)
    assert deployed.status is DeploymentStatus.READY and deployed.created_by == "tester@example.com"
    (current,) = endpoints.endpoints()
    assert (current.endpoint_name, current.model_id, current.status, current.max_tokens) == ("urgency", model.model_id, DeploymentStatus.READY, 32)
    assert current.template_id == model.template_id and current.training_sheet_id == model.training_sheet_id

    reply = endpoints.invoke("urgency", ASK, requester="caller@example.com")
    assert reply.text == '{"urgency": "urgent"}' and reply.model_version == "1"
    assert reply.schema_result.passed and reply.guardrails_passed

    served.text = '{"urgency": "whenever"}'
    flagged = endpoints.invoke("urgency", ASK, requester="caller@example.com")
    assert flagged.text == '{"urgency": "whenever"}'  # returned, and flagged
    assert not flagged.schema_result.passed and "allowed: routine, urgent" in flagged.schema_result.detail

    endpoints.stop()
    rows = logged(workbench)
    assert [r["guardrails_passed"] for r in rows] == [True, False]
    assert rows[1]["status_code"] == 200 and "whenever" in rows[1]["prediction"]
    assert {g["name"]: g["passed"] for g in json.loads(rows[1]["guardrails"])} == {"max_tokens": True, "output_schema": False, "pii": True}
    assert rows[0]["requester"] == "caller@example.com" and rows[0]["model_name"] == model.model_name
    assert json.loads(rows[0]["request"])["messages"][1]["content"] == "Invoice INV-0042 for 420.00."


def test_a_request_over_the_token_limit_is_refused_before_the_model_and_logged(workbench, model, endpoints, served):
    endpoints.deploy(workbench, model, "urgency", max_tokens=16)
    with pytest.raises(GuardrailRefusal, match="above this endpoint's limit of 16"):
        endpoints.invoke("urgency", ChatRequest(ASK.messages, max_tokens=500), requester="caller@example.com")
    assert served.answered == 0
    endpoints.stop()
    (row,) = logged(workbench)
    assert row["status_code"] == 400 and row["guardrails_passed"] is False and row["response"] is None
    assert json.loads(row["guardrails"]) == [{"name": "max_tokens", "passed": False, "detail": row["error"]}]


LEAKY = '{"urgency": "urgent", "note": "call the patient at (415) 555-0132 or jane@example.com"}'


def test_an_answer_with_personal_data_is_returned_flagged_and_logged_with_masked_findings(workbench, model, endpoints, served):
    endpoints.deploy(workbench, model, "urgency")
    served.text = LEAKY
    reply = endpoints.invoke("urgency", ASK, requester="caller@example.com")
    assert reply.text == LEAKY and reply.schema_result.passed  # flag-only by default: the answer is returned
    assert not reply.pii_result.passed and not reply.guardrails_passed
    assert [(f.kind.value, LEAKY[f.start:f.end]) for f in reply.pii_result.findings] == [
        ("phone", "(415) 555-0132"), ("email", "jane@example.com")]
    endpoints.stop()
    (row,) = logged(workbench)
    assert row["status_code"] == 200 and row["guardrails_passed"] is False
    (pii,) = [g for g in json.loads(row["guardrails"]) if g["name"] == "pii"]
    assert pii["findings"] == [
        {"kind": "phone", "start": 51, "end": 65, "masked": "(***) ***-**32"},
        {"kind": "email", "start": 69, "end": 85, "masked": "****@*******.*om"},
    ]
    assert "555-0132" not in row["guardrails"] and "jane@" not in row["guardrails"]
    (version, _) = compare_versions(workbench, LogScope("urgency", None, Window.HOUR), ("1", "2"))
    assert (version.requests, version.errors, version.guardrail_pass_rate) == (1, 0, 0.0)  # MONITOR counts the flag


def test_an_endpoint_set_to_block_withholds_an_answer_with_personal_data_and_logs_it_masked(workbench, model, endpoints, served):
    deployed = endpoints.deploy(workbench, model, "urgency", pii_action=PiiAction.BLOCK)
    assert deployed.pii_action is PiiAction.BLOCK and endpoints.current("urgency").pii_action is PiiAction.BLOCK
    assert endpoints.invoke("urgency", ASK, requester="caller@example.com").pii_result.passed  # a clean answer passes
    served.text = LEAKY
    with pytest.raises(AnswerWithheld, match=r"withheld.*phone at 51-65 \(\(\*\*\*\) \*\*\*-\*\*32\)"):
        endpoints.invoke("urgency", ASK, requester="caller@example.com")
    endpoints.stop()
    clean, blocked = logged(workbench)
    assert clean["guardrails_passed"] is True
    assert blocked["status_code"] == 400 and blocked["guardrails_passed"] is False and "withheld" in blocked["error"]
    assert "555-0132" not in blocked["response"] and "jane@" not in blocked["prediction"]
    assert "(***) ***-**32" in blocked["prediction"]


def test_the_pii_setting_is_kept_with_the_endpoint_and_flag_is_the_default(workbench, model, endpoints, served):
    endpoints.deploy(workbench, model, "flagging")
    endpoints.deploy(workbench, model, "blocking", pii_action=PiiAction.BLOCK)
    endpoints.stop()
    restarted = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): served}))
    assert {d.endpoint_name: d.pii_action for d in restarted.endpoints()} == {"flagging": PiiAction.FLAG, "blocking": PiiAction.BLOCK}
    served.text = LEAKY
    with pytest.raises(AnswerWithheld):
        restarted.invoke("blocking", ASK, requester="caller@example.com")
    assert restarted.invoke("flagging", ASK, requester="caller@example.com").text == LEAKY
    restarted.stop()


def test_a_model_that_does_not_load_leaves_a_failed_deployment_saying_why(workbench, model):
    registry = LocalEndpoints(workbench, FakeModelLoader())
    with pytest.raises(EndpointNotReadyError, match="not found"):
        registry.deploy(workbench, model, "urgency")
    (failed,) = registry.endpoints()
    assert failed.status is DeploymentStatus.FAILED and "not found" in failed.error
    with pytest.raises(EndpointNotReadyError, match="is failed"):
        registry.invoke("urgency", ASK, requester="caller@example.com")
    registry.stop()
    (row,) = logged(workbench)
    assert row["status_code"] == 503 and "is failed" in row["error"] and row["deployment_id"] == failed.id


def test_an_unknown_endpoint_or_a_bad_name_is_refused(workbench, model, endpoints):
    with pytest.raises(NotFoundError):
        endpoints.invoke("nothing-here", ASK, requester="caller@example.com")
    with pytest.raises(ValidationError, match="endpoint name"):
        endpoints.deploy(workbench, model, "no spaces/please")
    assert DeploymentsStore(workbench).history() == []


def test_deploying_again_replaces_the_endpoints_deployment(workbench, model, endpoints, served):
    first = endpoints.deploy(workbench, model, "urgency")
    second = endpoints.deploy(workbench, model, "urgency", max_tokens=8)
    history = {d.id: d.status for d in DeploymentsStore(workbench).history()}
    assert history == {first.id: DeploymentStatus.REPLACED, second.id: DeploymentStatus.READY}
    assert endpoints.invoke("urgency", ASK, requester="c@example.com").guardrails[0].detail == "the endpoint's limit of 8"


def test_an_endpoint_deployed_before_a_restart_loads_on_its_first_request(workbench, model, endpoints, served):
    endpoints.deploy(workbench, model, "urgency")
    endpoints.stop()
    loader = FakeModelLoader({(model.model_name, "1"): served})
    restarted = LocalEndpoints(workbench, loader)
    assert restarted.invoke("urgency", ASK, requester="c@example.com").text == served.text
    assert restarted.invoke("urgency", ASK, requester="c@example.com").text == served.text
    assert loader.loads == 1
    restarted.stop()


def test_a_full_queue_refuses_at_once_and_a_slow_answer_times_out(workbench, model):
    slow = FakeServedModel(hold_s=0.6)
    registry = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): slow}), max_queued=1, timeout_s=0.3)
    registry.deploy(workbench, model, "urgency")
    outcomes: list[str] = []

    def ask() -> None:
        try:
            registry.invoke("urgency", ASK, requester="c@example.com")
            outcomes.append("answered")
        except (EndpointBusyError, EndpointTimeoutError) as error:
            outcomes.append(type(error).__name__)

    clients = [threading.Thread(target=ask) for _ in range(4)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    assert "EndpointTimeoutError" in outcomes and "EndpointBusyError" in outcomes and "answered" not in outcomes
    registry.stop()
    statuses = sorted(r["status_code"] for r in logged(workbench))
    assert len(statuses) == 4 and set(statuses) <= {429, 504}


def test_a_model_failing_to_answer_is_a_model_error_and_logged(workbench, model):
    broken = FakeServedModel(fail_with="CUDA out of memory")
    registry = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): broken}))
    registry.deploy(workbench, model, "urgency")
    with pytest.raises(ModelError, match="out of memory"):
        registry.invoke("urgency", ASK, requester="c@example.com", source=RequestSource.PLAYGROUND)
    registry.stop()
    (row,) = logged(workbench)
    assert (row["status_code"], row["source"]) == (500, "playground") and "out of memory" in row["error"]
    assert InferenceLogStore(workbench).count("urgency") == 1


def test_a_redeploy_whose_model_does_not_load_leaves_the_endpoint_serving_its_version(workbench, model, served):
    loader = FakeModelLoader({(model.model_name, "1"): served})
    registry = LocalEndpoints(workbench, loader)
    working = registry.deploy(workbench, model, "urgency")
    loader.models.clear()  # the registry lost the version meanwhile
    with pytest.raises(EndpointNotReadyError):
        registry.deploy(workbench, model, "urgency", max_tokens=8)
    assert registry.invoke("urgency", ASK, requester="c@example.com").text == served.text
    assert registry.current("urgency").id == working.id
    assert [d.status for d in registry.endpoints()] == [DeploymentStatus.FAILED, DeploymentStatus.READY]
    registry.stop()
    restarted = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): served}))
    assert restarted.invoke("urgency", ASK, requester="c@example.com").guardrails[0].detail == "the endpoint's limit of 256"
    restarted.stop()
