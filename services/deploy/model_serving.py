"""Deploy to Model Serving (the Databricks backend): a registered version, or two with a traffic
split for an A/B test, behind a serving endpoint, through any ServingTarget; every attempt is
recorded in `deployments` (target 'databricks') with the endpoint's state or why it failed.

A first deployment takes Model Serving 10-20 minutes, so the page runs it as a job
(`model_serving_deploy`) and shows its progress; the job fails with Model Serving's reason when
the deployment does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

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
from services.core.errors import UnavailableError, ValidationError
from services.core.jobs import JobContext, JobRunner, register_job_type
from services.core.workbench import Workbench
from services.deploy.deployable_models import DeployableModels
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.records import DeployableModel, Deployment, DeploymentStatus, Target

JOB_TYPE = "model_serving_deploy"


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

    def as_params(self) -> dict[str, Any]:
        """The job's params: the versions by id, read back from the registry when the job runs."""
        return {
            "endpoint_name": self.endpoint_name, "model_id": self.model.model_id, "workload_size": self.workload_size,
            "scale_to_zero": self.scale_to_zero, "challenger_id": self.challenger.model_id if self.challenger else None,
            "challenger_percent": self.challenger_percent, "calls_per_minute": self.calls_per_minute, "per_user": self.per_user,
        }


def request_from_params(workbench: Workbench, params: dict[str, Any]) -> ServingRequest:
    models = DeployableModels(workbench)
    challenger = params.get("challenger_id")
    return ServingRequest(
        endpoint_name=str(params["endpoint_name"]), model=models.get(str(params["model_id"])),
        workload_size=str(params["workload_size"]), scale_to_zero=bool(params["scale_to_zero"]),
        challenger=models.get(str(challenger)) if challenger else None, challenger_percent=int(params["challenger_percent"]),
        calls_per_minute=params.get("calls_per_minute"), per_user=bool(params.get("per_user")),
    )


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
    recorded as failed with the target's message and returned, not raised (the job then fails
    with that message); the endpoint keeps serving what it served before."""
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


def start_model_serving_deploy(workbench: Workbench, request: ServingRequest) -> str:
    """Checks the request (a ValidationError before any job exists), then deploys it as a job."""
    endpoint_spec(workbench, request)
    return JobRunner(workbench).submit(JOB_TYPE, request.as_params(), training_sheet_id=request.model.training_sheet_id)


class ModelServingWork:
    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        self._wb = workbench
        self._request = request_from_params(workbench, params)

    def run(self, context: JobContext) -> dict[str, Any]:
        context.report(0, 1)
        outcome = deploy_to_model_serving(self._wb, serving_target(self._wb), self._request)
        if outcome.deployment.error:
            raise UnavailableError(outcome.deployment.error)
        context.report(1, 1)
        return {"deployment_id": outcome.deployment.id, "endpoint_name": outcome.deployment.endpoint_name,
                "url": outcome.state.url if outcome.state else None}


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


register_job_type(JOB_TYPE, ModelServingWork)
