"""Export for edge as a background job: build a registered version's bundle (edge_bundle.py),
record it in `deployments` (target 'edge', the archive's path, size and sha256 in its config), and
list the bundles built, for the DEPLOY page to offer as downloads.

A bundle is as large as the model's weights (about 0.5 GB for the demo model) and takes minutes on
a laptop, so the page submits it and shows the job's progress rather than wait. A failed build is
recorded too, with its reason, and the job fails with the same message. Cancel discards the
archive once the build ends and records nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from services.core.errors import NotFoundError, ValidationError, WorkbenchError
from services.core.jobs import JobContext, JobRunner, register_job_type
from services.core.workbench import Workbench
from services.deploy.deployable_models import DeployableModels
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.edge_bundle import EdgeBundle, EdgeBundleBuilder, archive_name
from services.deploy.records import DeployableModel, Deployment, DeploymentStatus, Target

JOB_TYPE = "edge_bundle"
_STEPS = 1  # one build: the bar shows started and done; the archive is written in one pass


@dataclass(frozen=True)
class BuiltBundle:
    """A bundle as `deployments` records it; `path` is None for a build that failed."""

    deployment_id: str
    model_id: str
    model_name: str
    model_version: str
    file_name: str
    status: DeploymentStatus
    path: Path | None
    size_bytes: int | None
    sha256: str | None
    created_by: str
    created_at: datetime | None
    error: str | None

    @property
    def downloadable(self) -> bool:
        return self.status is DeploymentStatus.READY and self.path is not None and self.path.is_file()


class EdgeExports:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._store = DeploymentsStore(workbench)

    def start(self, model: DeployableModel) -> str:
        """Submits the build; returns the job id at once."""
        return JobRunner(self._wb).submit(JOB_TYPE, {"model_id": model.model_id}, training_sheet_id=model.training_sheet_id)

    def bundles(self) -> list[BuiltBundle]:
        """Each version's latest bundle (and failed builds since), by archive name."""
        return [_bundle(d, config) for d, config in self._store.endpoints_with_config(Target.EDGE)]

    def get(self, deployment_id: str) -> BuiltBundle:
        found = next((b for b in self.bundles() if b.deployment_id == deployment_id), None)
        if found is None:
            raise NotFoundError(f"Edge bundle {deployment_id} does not exist or was replaced by a later build.")
        return found

    def open_archive(self, deployment_id: str) -> BinaryIO:
        """The archive, for streaming to whoever downloads it."""
        bundle = self.get(deployment_id)
        if not bundle.downloadable or bundle.path is None:
            raise NotFoundError(f"{bundle.file_name} is not on this machine any more; export it again.")
        return bundle.path.open("rb")

    def record(self, model: DeployableModel, built: EdgeBundle | None, error: str | None = None) -> Deployment:
        deployment = Deployment(
            id=str(uuid.uuid4()), endpoint_name=built.path.name if built else archive_name(model.model_name, model.model_version),
            model_name=model.model_name, model_version=model.model_version, model_id=model.model_id, target=Target.EDGE,
            status=DeploymentStatus.READY if built else DeploymentStatus.FAILED, lineage_id=model.lineage_id,
            training_sheet_id=model.training_sheet_id, template_id=model.template_id, max_tokens=0, schema_guardrail=False,
            mlflow_run_id=model.mlflow_run_id, created_by=self._wb.user.email, created_at=built.created_at if built else None,
            error=error,
        )
        config: dict[str, object] = {} if built is None else {
            "path": str(built.path), "size_bytes": built.size_bytes, "sha256": built.sha256, "file_count": built.file_count,
            "has_example_store": built.has_example_store, "build_seconds": round(built.build_seconds, 1),
        }
        self._store.insert(deployment, config)
        return deployment


class EdgeBundleWork:
    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        model_id = params.get("model_id")
        if not isinstance(model_id, str):
            raise ValidationError("Say which registered model version to export.", "model_id")
        self._wb = workbench
        self._model = DeployableModels(workbench).get(model_id)

    def run(self, context: JobContext) -> dict[str, Any]:
        context.report(0, _STEPS)
        exports = EdgeExports(self._wb)
        try:
            built = EdgeBundleBuilder(self._wb).build(self._model.model_name, self._model.model_version)
        except (WorkbenchError, OSError) as error:
            exports.record(self._model, None, str(error))
            raise
        if context.cancelled():  # the build cannot stop part way (it takes seconds); its result is discarded instead
            built.path.unlink(missing_ok=True)
            return {"cancelled": True}
        deployment = exports.record(self._model, built)
        context.report(_STEPS, _STEPS)
        return {"deployment_id": deployment.id, "path": str(built.path), "size_bytes": built.size_bytes, "sha256": built.sha256}


def _bundle(deployment: Deployment, config: dict[str, Any]) -> BuiltBundle:
    path = config.get("path")
    return BuiltBundle(
        deployment_id=deployment.id, model_id=deployment.model_id, model_name=deployment.model_name,
        model_version=deployment.model_version, file_name=deployment.endpoint_name, status=deployment.status,
        path=Path(path) if path else None, size_bytes=config.get("size_bytes"), sha256=config.get("sha256"),
        created_by=deployment.created_by, created_at=deployment.created_at, error=deployment.error,
    )


register_job_type(JOB_TYPE, EdgeBundleWork)
