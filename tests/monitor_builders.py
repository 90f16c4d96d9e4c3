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
