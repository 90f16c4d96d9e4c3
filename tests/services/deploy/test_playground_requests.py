"""The Playground's requests to a Model Serving endpoint DEPLOY deployed: through the real
databricks-sdk against the loopback workspace, answered and checked like a local endpoint's,
and left to the AI Gateway's inference table rather than written to our inference log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from data_access.serving.databricks_endpoints import DatabricksServingTarget
from services.core.errors import UnavailableError, ValidationError
from services.deploy.deployable_models import DeployableModels
from services.deploy.endpoints import LocalEndpoints
from services.deploy.inference_log import InferenceLogStore
from services.deploy.model_serving import ServingRequest, deploy_to_model_serving, registered_name
from services.deploy.playground_requests import MODEL_SERVING_MAX_TOKENS, Playground
from services.deploy.records import ChatRequest, ChatTurn, Target
from tests.deploy_builders import trained_model
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.fakes.served_model import FakeModelLoader

ASK = ChatRequest((ChatTurn("system", "You triage invoices."), ChatTurn("user", "Invoice INV-0042 for 420.00.")), max_tokens=16)


@pytest.fixture
def rest() -> Iterator[FakeDatabricksRest]:
    with FakeDatabricksRest() as rest:
        yield rest


@pytest.fixture
def world(workbench, rest):
    """A version deployed to Model Serving as DEPLOY deploys it; the Playground querying as the person (their token)."""
    model = trained_model(workbench)
    rest.serving.add_model_version(registered_name(workbench, model.model_name), model.model_version)
    target = DatabricksServingTarget(lambda: rest.client("user-token"), workbench.settings.qualified_schema, timeout=timedelta(seconds=30))
    deploy_to_model_serving(workbench, target, ServingRequest("urgency", model))
    local = LocalEndpoints(workbench, FakeModelLoader())
    yield Playground(workbench, local, target), rest
    local.stop()


def test_a_model_serving_endpoint_answers_in_the_playground_with_its_latency_and_schema_check(workbench, world):
    playground, rest = world
    rest.serving.answer = lambda served, messages: '{"urgency": "urgent"}' if "420.00" in messages[-1]["content"] else "?"

    (endpoint,) = playground.endpoints()
    reply = playground.send(endpoint, ASK)

    assert endpoint.target == Target.DATABRICKS and endpoint.max_tokens == MODEL_SERVING_MAX_TOKENS
    assert (reply.text, reply.endpoint_name, reply.model_version) == ('{"urgency": "urgent"}', "urgency", "1")
    assert reply.latency_ms > 0 and reply.schema_result.passed
    assert reply.completion_tokens is None  # a custom model's predictions carry no token counts
    (sent,) = rest.serving.queries
    assert sent["dataframe_records"][0]["messages"][-1] == {"role": "user", "content": "Invoice INV-0042 for 420.00."}
    assert sent["params"] == {"max_new_tokens": 16}
    assert {r.token for r in rest.requests_for("/serving-endpoints/urgency/invocations")} == {"user-token"}
    assert InferenceLogStore(workbench).count("urgency") == 0  # the AI Gateway's inference table logs it, not us
    assert "AI Gateway inference table" in playground.logged_in(endpoint)


def test_the_version_of_an_ab_split_that_answered_is_named(workbench, world):
    playground, rest = world
    first = DeployableModels(workbench).get("invoices_urgency_lora/1")
    second = replace(first, model_version="2", model_id=f"{first.model_name}/2")
    rest.serving.add_model_version(registered_name(workbench, second.model_name), "2")
    target = DatabricksServingTarget(rest.client, workbench.settings.qualified_schema, timeout=timedelta(seconds=30))
    deploy_to_model_serving(workbench, target, ServingRequest("urgency", first, challenger=second, challenger_percent=100))

    reply = playground.send(playground.endpoints()[0], ASK)

    assert rest.serving.queries[-1]["served_name"] == "invoices_urgency_lora-2" and reply.model_version == "2"


def test_an_answer_outside_the_output_schema_is_flagged(world):
    playground, rest = world
    rest.serving.answer = lambda served, messages: "no idea"
    reply = playground.send(playground.endpoints()[0], ASK)
    assert reply.text == "no idea" and not reply.schema_result.passed


def test_an_endpoint_that_is_not_ready_gives_a_clear_message(world):
    playground, rest = world
    endpoint = playground.endpoints()[0]
    rest.serving.endpoints["urgency"]["state"]["ready"] = "NOT_READY"  # scaled away or rebuilding
    with pytest.raises(UnavailableError, match="urgency did not answer: Endpoint urgency is not ready"):
        playground.send(endpoint, ASK)
    assert rest.serving.queries == []


def test_a_server_error_becomes_a_message_with_model_servings_words(world):
    playground, rest = world
    rest.serving.fail_next_query(500, "The model raised: CUDA out of memory")
    with pytest.raises(UnavailableError, match="CUDA out of memory"):
        playground.send(playground.endpoints()[0], ASK)


def test_an_endpoint_busy_past_the_sdks_retries_gives_a_clear_message(workbench, world):
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.core import Config

    _, rest = world
    impatient = WorkspaceClient(config=Config(host=rest.url, token="user-token", auth_type="pat", retry_timeout_seconds=1))
    playground = Playground(workbench, LocalEndpoints(workbench, FakeModelLoader()),
                            DatabricksServingTarget(lambda: impatient, workbench.settings.qualified_schema))
    rest.serving.fail_next_query(503, "Endpoint is scaling up", times=100)  # the SDK retries a 503 until its timeout
    with pytest.raises(UnavailableError, match="urgency did not answer in time"):
        playground.send(playground.endpoints()[0], ASK)
    assert rest.serving.queries == []


def test_asking_for_more_tokens_than_the_playground_allows_is_refused_before_sending(world):
    playground, rest = world
    too_many = ChatRequest(ASK.messages, max_tokens=MODEL_SERVING_MAX_TOKENS + 1)
    with pytest.raises(ValidationError, match="above this endpoint's limit"):
        playground.send(playground.endpoints()[0], too_many)
    assert rest.serving.queries == []


def test_a_failed_deployment_is_not_offered_and_without_model_serving_none_is(workbench, world):
    playground, rest = world
    rest.serving.fail_next_update("Container build failed")
    first = DeployableModels(workbench).get("invoices_urgency_lora/1")
    model = replace(first, model_version="2", model_id=f"{first.model_name}/2")
    rest.serving.add_model_version(registered_name(workbench, model.model_name), model.model_version)
    deploy_to_model_serving(workbench, DatabricksServingTarget(rest.client, workbench.settings.qualified_schema), ServingRequest("broken", model))

    assert [e.endpoint_name for e in playground.endpoints()] == ["urgency"]
    assert Playground(workbench, LocalEndpoints(workbench, FakeModelLoader()), None).endpoints() == []
