"""Databricks Model Serving through the real databricks-sdk, against the loopback workspace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from data_access.serving.databricks_endpoints import DatabricksServingTarget
from data_access.serving.endpoints import (
    EndpointSpec,
    Guardrails,
    InferenceTable,
    QueryMessage,
    RateLimit,
    ServedVersion,
    ServingError,
    ServingTarget,
)
from tests.fakes.databricks_rest import FakeDatabricksRest

MODEL = "mirion_vital.workbench.invoice_urgency"
QUESTION = (QueryMessage("system", "You triage medical invoices."), QueryMessage("user", "Invoice INV-0042 for 420.00."))


@pytest.fixture
def rest() -> Iterator[FakeDatabricksRest]:
    with FakeDatabricksRest() as rest:
        rest.serving.add_model_version(MODEL, "1")
        rest.serving.add_model_version(MODEL, "2")
        yield rest


@pytest.fixture
def target(rest) -> ServingTarget:
    return DatabricksServingTarget(rest.client, "mirion_vital.workbench", timeout=timedelta(seconds=30))


def _spec(*versions: ServedVersion, **kwargs) -> EndpointSpec:
    return EndpointSpec("invoice-urgency", versions or (ServedVersion(MODEL, "1"),), **kwargs)


def test_a_new_endpoint_serves_the_model_version_once_the_sdk_has_waited_for_it(rest, target):
    state = target.deploy(_spec(workload_size="Small", scale_to_zero=True))

    assert state.is_ready and state.versions == (ServedVersion(MODEL, "1", 100),)
    assert state.url == f"{rest.url}/serving-endpoints/invoice-urgency/invocations"
    polls = [r for r in rest.requests_for("/api/2.0/serving-endpoints/invoice-urgency") if r.method == "GET"]
    assert len(polls) >= 2  # create_and_wait polled while the update was in progress
    (entity,) = rest.serving.endpoints["invoice-urgency"]["config"]["served_entities"]
    assert (entity["name"], entity["entity_name"], entity["entity_version"]) == ("invoice_urgency-1", MODEL, "1")
    assert (entity["workload_size"], entity["scale_to_zero_enabled"]) == ("Small", True)


def test_the_ai_gateway_writes_an_inference_table_and_never_the_legacy_auto_capture(rest, target):
    state = target.deploy(_spec())
    assert state.inference_table == "mirion_vital.workbench.invoice_urgency_payload"
    gateway = rest.serving.endpoints["invoice-urgency"]["ai_gateway"]
    assert gateway["inference_table_config"] == {
        "catalog_name": "mirion_vital", "schema_name": "workbench", "table_name_prefix": "invoice_urgency", "enabled": True,
    }
    assert gateway["usage_tracking_config"] == {"enabled": True}
    assert "auto_capture_config" not in str(rest.serving.endpoints["invoice-urgency"])

    elsewhere = target.deploy(_spec(inference_table=InferenceTable("monitoring", "serving", "urgency_ab")))
    assert elsewhere.inference_table == "monitoring.serving.urgency_ab_payload"


def test_an_ab_split_routes_traffic_between_two_versions_in_the_given_shares(rest, target):
    target.deploy(_spec())
    state = target.deploy(_spec(ServedVersion(MODEL, "1", 80), ServedVersion(MODEL, "2", 20)))

    assert state.is_ready and state.versions == (ServedVersion(MODEL, "1", 80), ServedVersion(MODEL, "2", 20))
    routes = rest.serving.endpoints["invoice-urgency"]["config"]["traffic_config"]["routes"]
    assert routes == [
        {"served_entity_name": "invoice_urgency-1", "traffic_percentage": 80},
        {"served_entity_name": "invoice_urgency-2", "traffic_percentage": 20},
    ]
    assert rest.serving.endpoints["invoice-urgency"]["config"]["config_version"] == 2
    answered_by = [target.query("invoice-urgency", QUESTION).served_name for _ in range(100)]
    assert (answered_by.count("invoice_urgency-1"), answered_by.count("invoice_urgency-2")) == (80, 20)


def test_rate_limits_go_to_the_gateway_and_an_update_replaces_them(rest, target):
    target.deploy(_spec(rate_limits=(RateLimit(120), RateLimit(10, per_user=True))))
    assert rest.serving.endpoints["invoice-urgency"]["ai_gateway"]["rate_limits"] == [
        {"calls": 120, "key": "endpoint", "renewal_period": "minute"},
        {"calls": 10, "key": "user", "renewal_period": "minute"},
    ]
    target.deploy(_spec())
    assert "rate_limits" not in rest.serving.endpoints["invoice-urgency"]["ai_gateway"]


def test_guardrails_a_custom_model_endpoint_cannot_have_are_refused_before_anything_is_created(rest, target):
    with pytest.raises(ServingError, match="guardrails for external and foundation models only"):
        target.deploy(_spec(guardrails=Guardrails(pii="BLOCK")))
    assert rest.serving.endpoints == {}


def test_a_query_sends_the_chat_as_the_registered_model_reads_it_and_returns_its_prediction(rest, target):
    target.deploy(_spec())
    rest.serving.answer = lambda served, messages: '{"urgency": "urgent"}' if "420.00" in messages[-1]["content"] else "?"

    answer = target.query("invoice-urgency", QUESTION, max_tokens=16)

    assert (answer.text, answer.served_name) == ('{"urgency": "urgent"}', "invoice_urgency-1")
    assert answer.latency_ms > 0
    (sent,) = rest.serving.queries
    assert sent["dataframe_records"] == [{"messages": [{"role": "system", "content": "You triage medical invoices."},
                                                       {"role": "user", "content": "Invoice INV-0042 for 420.00."}]}]
    assert sent["params"] == {"max_new_tokens": 16}


def test_a_deployment_that_fails_says_why_in_the_served_entitys_words(rest, target):
    rest.serving.fail_next_update("Container build failed: torch==2.13.0 has no wheel for this runtime.")
    with pytest.raises(ServingError, match=re.escape("invoice_urgency-1: Container build failed: torch==2.13.0")):
        target.deploy(_spec())
    state = target.state("invoice-urgency")
    assert state is not None and not state.is_ready and state.config_update == "UPDATE_FAILED"


def test_a_model_version_unity_catalog_does_not_have_is_refused_with_its_name(rest, target):
    with pytest.raises(ServingError, match=f"Model version 7 of {MODEL} does not exist"):
        target.deploy(_spec(ServedVersion(MODEL, "7")))


def test_an_endpoint_that_does_not_exist_has_no_state_and_cannot_be_queried(target):
    assert target.state("nobody-deployed-this") is None
    with pytest.raises(ServingError, match="does not exist"):
        target.query("nobody-deployed-this", QUESTION)


def test_an_update_that_outlasts_the_wait_says_so_and_a_second_one_is_refused_meanwhile(rest):
    rest.serving.polls_to_finish = 1000  # Model Serving still building the container
    impatient = DatabricksServingTarget(rest.client, "mirion_vital.workbench", timeout=timedelta(seconds=2))
    with pytest.raises(ServingError, match="did not finish updating"):
        impatient.deploy(_spec())
    assert impatient.state("invoice-urgency").config_update == "IN_PROGRESS"
    with pytest.raises(ServingError, match="currently updating"):
        impatient.deploy(_spec())
