"""Deploy to Model Serving: the service through the real databricks-sdk against the loopback
workspace, recording every attempt in `deployments`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from data_access.databricks_client import forget_clients
from data_access.serving.databricks_endpoints import DatabricksServingTarget
from services.core.domain.job import JobStatus
from services.core.errors import ValidationError
from services.core.jobs import JobRunner
from services.deploy.model_serving import (
    ServingRequest,
    deploy_to_model_serving,
    registered_name,
    serving_endpoints,
    start_model_serving_deploy,
)
from services.deploy.records import DeploymentStatus
from tests.deploy_builders import trained_model
from tests.fakes.databricks_rest import FakeDatabricksRest, point_app_identity_at
from tests.job_works import WAIT_S, stop_all_jobs


@pytest.fixture
def rest() -> Iterator[FakeDatabricksRest]:
    with FakeDatabricksRest() as rest:
        yield rest


@pytest.fixture
def target(rest, workbench) -> DatabricksServingTarget:
    return DatabricksServingTarget(rest.client, workbench.settings.qualified_schema, timeout=timedelta(seconds=30))


@pytest.fixture
def models(workbench, rest):
    first = trained_model(workbench)
    second = replace(first, model_version="2", model_id=f"{first.model_name}/2")  # a later version of the same model
    for model in (first, second):
        rest.serving.add_model_version(registered_name(workbench, model.model_name), model.model_version)
    return first, second


def test_a_version_deployed_to_model_serving_is_recorded_ready_with_its_endpoint(workbench, rest, target, models):
    model, _ = models
    outcome = deploy_to_model_serving(workbench, target, ServingRequest("urgency", model, workload_size="Medium", scale_to_zero=False))

    assert outcome.state.is_ready and outcome.deployment.status is DeploymentStatus.READY and outcome.deployment.error is None
    (entity,) = rest.serving.endpoints["urgency"]["config"]["served_entities"]
    assert (entity["entity_name"], entity["entity_version"]) == (registered_name(workbench, model.model_name), "1")
    assert (entity["workload_size"], entity["scale_to_zero_enabled"]) == ("Medium", False)
    (recorded,) = serving_endpoints(workbench)
    assert (recorded.deployment.target, recorded.deployment.created_by) == ("databricks", "tester@example.com")
    assert recorded.deployment.model_id == model.model_id and recorded.workload_size == "Medium"
    assert recorded.inference_table == f"{workbench.settings.qualified_schema}.urgency_payload"
    assert recorded.url == f"{rest.url}/serving-endpoints/urgency/invocations"


def test_a_second_version_gets_its_share_of_traffic_and_the_rate_limit_reaches_the_gateway(workbench, rest, target, models):
    first, second = models
    request = ServingRequest("urgency", first, challenger=second, challenger_percent=20, calls_per_minute=60, per_user=True)
    deploy_to_model_serving(workbench, target, request)

    routes = rest.serving.endpoints["urgency"]["config"]["traffic_config"]["routes"]
    assert sorted((r["served_entity_name"], r["traffic_percentage"]) for r in routes) == [
        ("invoices_urgency_lora-1", 80), ("invoices_urgency_lora-2", 20)]
    (limit,) = rest.serving.endpoints["urgency"]["ai_gateway"]["rate_limits"]
    assert (limit["calls"], limit["key"], limit["renewal_period"]) == (60, "user", "minute")
    (recorded,) = serving_endpoints(workbench)
    assert [(v.model_version, v.traffic_percent) for v in recorded.versions] == [("1", 80), ("2", 20)]


def test_a_failed_deployment_is_recorded_failed_with_model_servings_reason(workbench, rest, target, models):
    model, _ = models
    deploy_to_model_serving(workbench, target, ServingRequest("urgency", model))
    rest.serving.fail_next_update("Container build failed: no space left on device")

    outcome = deploy_to_model_serving(workbench, target, ServingRequest("urgency", model, workload_size="Large"))

    assert outcome.deployment.status is DeploymentStatus.FAILED
    assert "no space left on device" in outcome.deployment.error
    statuses = sorted(e.deployment.status.value for e in serving_endpoints(workbench))
    assert statuses == ["failed", "ready"]  # the endpoint still serves its earlier, ready deployment


def test_a_version_unity_catalog_does_not_have_is_refused_and_recorded(workbench, rest, target):
    model = trained_model(workbench)  # not registered in the workspace's Unity Catalog
    outcome = deploy_to_model_serving(workbench, target, ServingRequest("urgency", model))
    assert outcome.state is None and outcome.deployment.status is DeploymentStatus.FAILED
    assert "Model Serving refused urgency" in outcome.deployment.error
    assert "urgency" not in rest.serving.endpoints


def test_a_bad_endpoint_name_changes_nothing(workbench, rest, target, models):
    with pytest.raises(ValidationError, match="is not an endpoint name"):
        deploy_to_model_serving(workbench, target, ServingRequest("no spaces/please", models[0]))
    assert serving_endpoints(workbench) == [] and rest.serving.endpoints == {}


@pytest.fixture
def workspace_env(rest, monkeypatch, tmp_path):
    """The app's identity in the environment pointing at the loopback workspace, as the page's job finds it."""
    point_app_identity_at(monkeypatch, tmp_path, rest.url)
    forget_clients()
    yield rest
    forget_clients()


@pytest.fixture
def runner(workbench):
    runner = JobRunner(workbench)
    yield runner
    stop_all_jobs(runner)


def test_the_pages_deploy_job_reaches_model_serving_as_the_app_and_records_the_endpoint(workbench, workspace_env, models, runner):
    job = runner.wait(start_model_serving_deploy(workbench, ServingRequest("urgency", models[0], calls_per_minute=30)), WAIT_S)

    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.result["url"] == f"{workspace_env.url}/serving-endpoints/urgency/invocations"
    (recorded,) = serving_endpoints(workbench)
    assert recorded.deployment.status is DeploymentStatus.READY and [v.traffic_percent for v in recorded.versions] == [100]
    assert {r.token for r in workspace_env.requests_for("/api/2.0/serving-endpoints")} == {"app-token"}


def test_a_deploy_job_that_model_serving_fails_fails_with_its_reason(workbench, workspace_env, models, runner):
    workspace_env.serving.fail_next_update("Container build failed: image too large")
    job = runner.wait(start_model_serving_deploy(workbench, ServingRequest("urgency", models[0])), WAIT_S)

    assert job.status is JobStatus.FAILED and "image too large" in job.error
    assert [e.deployment.error for e in serving_endpoints(workbench)] == [job.error]


def test_a_bad_request_is_refused_before_a_job_exists(workbench, models, runner):
    with pytest.raises(ValidationError, match="must add up to 100"):
        start_model_serving_deploy(workbench, ServingRequest("urgency", models[0], challenger=models[1], challenger_percent=120))
    assert runner.recent(job_type="model_serving_deploy") == []
