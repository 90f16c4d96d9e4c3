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


def improve_sql_flow(wb: Workbench) -> None:
    """Every statement IMPROVE's capture, queue and curation issue: for the Databricks SQL check."""
    from data_access.embeddings.lexical import LexicalEmbedder
    from data_access.schema.migrate import migrate
    from services.improve.capture import FeedbackCapture, FeedbackInput
    from services.improve.curation import FeedbackCuration
    from services.improve.queue import FeedbackQueue, QueueFilters
    from services.improve.records import FeedbackKind, FeedbackOrigin
    from tests.monitor_builders import logged_request, write_log

    migrate(wb.backend.engine, wb.settings)
    model = deployed_model(wb, threshold=0.5)
    sheet_id = model_sheet_id(wb, model)
    write_log(wb, [logged_request(i, sheet_id=sheet_id, item_ref=f"INV-{i:04d}") for i in range(1, 6)])
    wb.backend.engine.execute(f"UPDATE {wb.table('inference_log')} SET confidence = 0.1 WHERE id = 'log-1-5'")
    capture = FeedbackCapture(wb)
    capture.submit(capture.log_id_for(request_id="r1"), FeedbackInput("down", correction='{"urgency": "urgent"}'), FeedbackOrigin.API)
    capture.submit(capture.log_id_for(trace_id="trace-2"), FeedbackInput("down"), FeedbackOrigin.MONITOR)
    capture.submit("log-1-3", FeedbackInput("up"), FeedbackOrigin.PLAYGROUND)
    capture.submit("log-1-4", FeedbackInput("down", correction='{"urgency": "urgent"}'), FeedbackOrigin.MONITOR)
    queue = FeedbackQueue(wb, LexicalEmbedder())
    queue.groups(QueueFilters(endpoint="urgency", model_version="1", value="down", kind=FeedbackKind.CORRECTION))
    queue.choices()
    items = {i.inference_log_id: i for i in queue.items()}
    curation = FeedbackCuration(wb)
    curation.training_sheets_for([items["log-1-1"]])
    curation.add_to_training_sheet([items["log-1-1"]], training_sheet_id=model.training_sheet_id)
    curation.add_to_training_sheet([items["log-1-2"]], new_name="Urgency from production")
    curation.update_canonical_label(items["log-1-4"])
    curation.flag([items["log-1-5"]], "Odd request.")
    curation.dismiss([items["log-1-3"]])
