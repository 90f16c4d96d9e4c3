"""Constructed inference logs with known answers, for the MONITOR tests: a trained urgency model
(tests/deploy_builders.py) and requests to its endpoint written straight to the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.core.workbench import Workbench
from services.deploy.inference_log import InferenceLogStore
from services.deploy.records import DeployableModel, InferenceRecord

NOW = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
ENDPOINT = "urgency"


def logged_request(
    i: int, *, prediction: str | None = '{"urgency": "routine"}', at: datetime = NOW - timedelta(minutes=30), version: str = "1",
    status: int = 200, latency_ms: float = 10.0, item_ref: str | None = None, sheet_id: str | None = None,
    prompt: str = "Invoice INV-0042 for 420.00.", model_name: str = "invoices_urgency_lora",
) -> InferenceRecord:
    return InferenceRecord(
        id=f"log-{version}-{i}", deployment_id="d", endpoint_name=ENDPOINT, model_name=model_name, model_version=version,
        request_id=f"r{i}", trace_id=f"trace-{i}",
        request='{"messages": [{"role": "system", "content": "You triage medical invoices."}, {"role": "user", "content": "' + prompt + '"}]}',
        response=None if prediction is None else '{"content": "x"}', prediction=prediction, latency_ms=latency_ms,
        status_code=status, input_tokens=None, output_tokens=None, guardrails="[]", guardrails_passed=status < 400, error=None,
        requester="c@example.com", source="playground", replayed=False, created_at=at, sheet_id=sheet_id, item_ref=item_ref,
    )


def write_log(wb: Workbench, records: list[InferenceRecord]) -> None:
    InferenceLogStore(wb).append(records)


def relabel(wb: Workbench, model: DeployableModel, item_refs: list[str], urgency: str) -> None:
    """Change the expert label of some of the model's items (the training answers read from them)."""
    wb.backend.engine.execute(
        f"UPDATE {wb.table('canonical_labels')} SET label_data = :data WHERE array_contains(:refs, item_ref)",
        {"data": '{"urgency": "' + urgency + '"}', "refs": item_refs},
    )


def monitored_model(wb: Workbench, at: datetime | None = None) -> str:
    """The urgency model trained on INV-0000..0007 (labels: 6 routine, 2 urgent; INV-0008 and 0009
    labeled too, not trained on), with one logged request so its version is in the window; returns
    the sheet id of its items."""
    from services.monitor.log_scope import LogScope, Window
    from services.monitor.watched_model import watched_model
    from tests.train_model_builders import labeled_training_sheet, recorded_run

    labeled = labeled_training_sheet(wb, items=10)
    recorded_run(wb, (labeled.training_sheet.id,), labeled.pair_ids[:8], labeled.pair_ids[8:], model_name="invoices_urgency_lora",
                 accuracy=1.0, base_accuracy=0.5)
    at = at or datetime.now(UTC) - timedelta(minutes=5)
    write_log(wb, [logged_request(0, at=at)])
    model = watched_model(wb, LogScope(ENDPOINT, None, Window.DAY, at + timedelta(minutes=5)))
    assert model is not None and model.sheet_id is not None
    return model.sheet_id


def monitor_sql_flow(wb: Workbench) -> None:
    """Every statement the MONITOR dashboards issue, over a model with lineage and a small log:
    for the Databricks SQL check."""
    from data_access.embeddings.lexical import LexicalEmbedder
    from data_access.schema.migrate import migrate
    from services.monitor.drift import DriftService
    from services.monitor.log_scope import LogScope, Window
    from services.monitor.predictions import PredictionService
    from services.monitor.samples import SampleService
    from services.monitor.versions_compared import compare_versions
    from services.monitor.watched_model import watched_model

    migrate(wb.backend.engine, wb.settings)
    sheet_id = monitored_model(wb)
    write_log(wb, [logged_request(1 + i, at=datetime.now(UTC) - timedelta(minutes=4), sheet_id=sheet_id, item_ref=f"INV-{i:04d}")
                   for i in range(6)])
    scope = LogScope(ENDPOINT, None, Window.DAY)
    model = watched_model(wb, scope)
    assert model is not None
    predictions = PredictionService(wb)
    predictions.distributions(scope, model)
    predictions.confidence_histogram(scope)
    predictions.accuracy_over_time(scope, model)
    drift = DriftService(wb, LexicalEmbedder())
    drift.numeric_inputs(scope, model)
    drift.text_inputs(scope, model)
    samples = SampleService(wb)
    samples.source_item(samples.get(samples.recent(scope, model.label_type)[0].id, model.label_type))
    compare_versions(wb, scope, ("1", "2"))
