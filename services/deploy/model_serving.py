"""Deploy to Model Serving (the Databricks backend): a registered version, or two with a traffic
split for an A/B test, behind a serving endpoint, through any ServingTarget; every attempt is
recorded in `deployments` (target 'databricks') with the endpoint's state or why it failed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from data_access.serving.endpoints import (
    FULL_TRAFFIC,
    EndpointSpec,
    EndpointState,
    RateLimit,
    ServedVersion,
    ServingError,
    ServingTarget,
)
from data_access.serving.endpoints import WORKLOAD_SIZES as WORKLOAD_SIZES  # for the page's choice
from services.core.errors import ValidationError
from services.core.workbench import Workbench
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.records import DeployableModel, Deployment, DeploymentStatus, Target


@dataclass(frozen=True)
class ServingRequest:
    endpoint_name: str
    model: DeployableModel
    workload_size: str = "Small"
    scale_to_zero: bool = True
    challenger: DeployableModel | None = None  # a second version for an A/B split
    challenger_percent: int = 0  # its share of requests; the first version gets the rest
    calls_per_minute: int | None = None  # the AI Gateway's rate limit; None: unlimited
    per_user: bool = False  # the limit counts each caller separately


@dataclass(frozen=True)
class ServingDeployment:
    deployment: Deployment
    state: EndpointState | None  # None when the target refused before an endpoint existed


def serving_target(workbench: Workbench) -> ServingTarget:
    """Model Serving in the workspace, acting as the person using the app (their token when forwarded)."""
    from data_access.databricks_client import workspace_client
    from data_access.serving.databricks_endpoints import DatabricksServingTarget

    user = workbench.user
    return DatabricksServingTarget(lambda: workspace_client(user), workbench.settings.qualified_schema)


def registered_name(workbench: Workbench, model_name: str) -> str:
    """Unity Catalog's three-part name of a model TRAIN registered under the workbench's schema."""
    return model_name if "." in model_name else f"{workbench.settings.qualified_schema}.{model_name}"


def endpoint_spec(workbench: Workbench, request: ServingRequest) -> EndpointSpec:
    """The spec for the request; a ValidationError names what is wrong with it."""
    versions = [ServedVersion(registered_name(workbench, request.model.model_name), request.model.model_version,
                              FULL_TRAFFIC - (request.challenger_percent if request.challenger else 0))]
    if request.challenger is not None:
        versions.append(ServedVersion(registered_name(workbench, request.challenger.model_name), request.challenger.model_version,
                                      request.challenger_percent))
    try:
        limits = () if request.calls_per_minute is None else (RateLimit(request.calls_per_minute, request.per_user),)
        return EndpointSpec(request.endpoint_name.strip(), tuple(versions), workload_size=request.workload_size,
                            scale_to_zero=request.scale_to_zero, rate_limits=limits)
    except ValueError as error:
        raise ValidationError(str(error)) from error


def deploy_to_model_serving(workbench: Workbench, target: ServingTarget, request: ServingRequest) -> ServingDeployment:
    """Creates or updates the endpoint and records the outcome. A refused or failed deployment is
    recorded as failed with the target's message and returned, not raised: it is a result the
    page shows, and the endpoint keeps serving what it served before."""
    spec = endpoint_spec(workbench, request)
    state: EndpointState | None = None
    try:
        state = target.deploy(spec)
        error = None if state.is_ready else (state.detail or f"{spec.name} is {state.ready}, its last update {state.config_update}.")
    except ServingError as failure:
        error = str(failure)
    model = request.model
    deployment = Deployment(
        id=str(uuid.uuid4()), endpoint_name=spec.name, model_name=model.model_name, model_version=model.model_version,
        model_id=model.model_id, target=Target.DATABRICKS, status=DeploymentStatus.FAILED if error else DeploymentStatus.READY,
        lineage_id=model.lineage_id, training_sheet_id=model.training_sheet_id, template_id=model.template_id, max_tokens=0,
        schema_guardrail=False, mlflow_run_id=model.mlflow_run_id, created_by=workbench.user.email, created_at=None, error=error,
    )
    DeploymentsStore(workbench).insert(deployment, {
        "workload_size": spec.workload_size, "scale_to_zero": spec.scale_to_zero,
        "versions": [{"model_name": v.model_name, "model_version": v.model_version, "traffic_percent": v.traffic_percent}
                     for v in spec.versions],
        "rate_limits": [{"calls_per_minute": r.calls, "per_user": r.per_user} for r in spec.rate_limits],
        "url": state.url if state else None, "inference_table": state.inference_table if state else None,
    })
    return ServingDeployment(deployment, state)


@dataclass(frozen=True)
class ServingEndpointRecord:
    """A Model Serving endpoint as recorded: its deployment and what the attempt asked for or got."""

    deployment: Deployment
    versions: tuple[ServedVersion, ...]
    workload_size: str | None
    url: str | None
    inference_table: str | None


def serving_endpoints(workbench: Workbench) -> list[ServingEndpointRecord]:
    """Every Model Serving endpoint this workbench deployed: its current deployment and failed attempts since."""
    return [
        ServingEndpointRecord(
            deployment=d,
            versions=tuple(ServedVersion(v["model_name"], v["model_version"], v["traffic_percent"]) for v in config.get("versions", [])),
            workload_size=config.get("workload_size"), url=config.get("url"), inference_table=config.get("inference_table"),
        )
        for d, config in DeploymentsStore(workbench).endpoints_with_config(Target.DATABRICKS)
    ]
