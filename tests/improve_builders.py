"""A deployed urgency model (its template's output schema: urgency, routine or urgent) with
requests written straight to its inference log, for the IMPROVE tests."""

from __future__ import annotations

from datetime import UTC, datetime

from services.core.workbench import Workbench
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.records import DeployableModel, Deployment, DeploymentStatus, Target
from tests.deploy_builders import trained_model

DEPLOYMENT_ID = "d"  # the deployment tests/monitor_builders.logged_request names


def deployed_model(wb: Workbench, threshold: float | None = None) -> DeployableModel:
    """The urgency model deployed at the endpoint `urgency` as deployment `d`."""
    model = trained_model(wb)
    DeploymentsStore(wb).insert(Deployment(
        id=DEPLOYMENT_ID, endpoint_name="urgency", model_name=model.model_name, model_version=model.model_version,
        model_id=model.model_id, target=Target.LOCAL, status=DeploymentStatus.READY, lineage_id=model.lineage_id,
        training_sheet_id=model.training_sheet_id, template_id=model.template_id, max_tokens=64, schema_guardrail=True,
        mlflow_run_id=None, created_by="ops@example.com", created_at=datetime.now(UTC),
    ))
    if threshold is not None:
        DeploymentsStore(wb).set_low_confidence_threshold("urgency", threshold)
    return model


def model_sheet_id(wb: Workbench, model: DeployableModel) -> str:
    """The sheet whose items the model was trained on (invoices INV-0000 …)."""
    row = wb.backend.engine.query_one(f"SELECT sheet_id FROM {wb.table('training_sheets')} WHERE id = :id", {"id": model.training_sheet_id})
    assert row is not None
    return row["sheet_id"]
