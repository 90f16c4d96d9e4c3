"""A small, fully labeled Training Sheet and a chat-JSONL export of it, for the TRAIN tests.

The sheet is the invoice source (no governance tags, so every use is allowed); every item has
a canonical urgency label (urgent from 60.00 up), so generation makes every pair labeled. The
export is written the way the TRAIN export writes one: `{"messages": [...]}` per line, the
assistant's answer last, on the app's volume.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.qa_pair import LabelingMode, TrainingSheet
from services.core.domain.sheet import SheetDraft
from services.core.domain.template import FieldType, SchemaField
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.labels.canonical_labels import CanonicalLabelService
from services.train.evaluation import Comparison, EvaluationItem, compare
from services.train.records import EvaluationSource, LossPoint, RunStatus, TrainingConfig, TrainingInput, TrainingRun
from services.train.runs_store import TrainingRunsStore
from tests.builders import build_invoice_source
from tests.review_builders import generate, publish_template

EXPORTS = "/Volumes/mirion_vital/workbench/files/exports"
# A few steps on a few short pairs: a real LoRA run that fits a test on a busy 2-core machine.
URGENCY_SCHEMA = (SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")),)
TINY_CONFIG = TrainingConfig(max_steps=2, batch_size=2, max_length=64, max_new_tokens=12, lora_rank=4, lora_alpha=8)


@dataclass(frozen=True)
class LabeledSheet:
    training_sheet: TrainingSheet
    pair_ids: tuple[str, ...]  # in item order


def urgency(total_amount: float) -> str:
    return "urgent" if total_amount >= 60 else "routine"


def labeled_training_sheet(wb: Workbench, items: int = 10) -> LabeledSheet:
    build_invoice_source(wb)
    sheet = SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", sample_size=items))
    labels = CanonicalLabelService(wb)
    for i in range(items):
        labels.save(LabelKey(sheet.id, f"INV-{i:04d}", "classification"), LabelContent({"urgency": urgency(i * 10)}), 0)
    template = publish_template(wb)
    training_sheet = generate(wb, sheet.id, template.id, LabelingMode.MANUAL)
    rows = wb.backend.engine.query(
        f"SELECT id FROM {wb.table('qa_pairs')} WHERE training_sheet_id = :id ORDER BY ordinal", {"id": training_sheet.id}
    )
    return LabeledSheet(training_sheet, tuple(r["id"] for r in rows))


def write_export(wb: Workbench, name: str, pair_ids: tuple[str, ...]) -> str:
    rows = wb.backend.engine.query(
        f"SELECT id, messages FROM {wb.table('qa_pairs')} WHERE array_contains(:ids, id)", {"ids": list(pair_ids)}
    )
    by_id = {r["id"]: r["messages"] for r in rows}
    lines = [json.dumps({"messages": json.loads(by_id[i])}) for i in pair_ids]
    path = f"{EXPORTS}/{name}"
    wb.backend.files.write_bytes(path, ("\n".join(lines) + "\n").encode())
    return path


def training_input(wb: Workbench, labeled: LabeledSheet, train: int = 4, validation: int = 2, evaluation: int = 2) -> TrainingInput:
    """The first `train` pairs to train on, the next `validation` to validate; the rest may be evaluated on."""
    train_ids = labeled.pair_ids[:train]
    val_ids = labeled.pair_ids[train : train + validation]
    ts = labeled.training_sheet.id
    return TrainingInput(
        export_id="export-test-1", training_sheet_ids=(ts,), train_jsonl=write_export(wb, "test-1/train.jsonl", train_ids),
        validation_jsonl=write_export(wb, "test-1/validation.jsonl", val_ids) if val_ids else None,
        train_pair_ids=train_ids, validation_pair_ids=val_ids, evaluation=EvaluationSource((ts,), max_pairs=evaluation),
        export_version=1,
    )


def recorded_run(
    wb: Workbench, training_sheet_ids: tuple[str, ...], train_ids: tuple[str, ...], val_ids: tuple[str, ...],
    *, model_name: str, accuracy: float, base_accuracy: float, learning_rate: float = 1e-3, version: str = "1",
) -> TrainingRun:
    """A finished run as the training job records it (through its store), without training a model:
    for the lineage queries, which read only what the run recorded."""
    store = TrainingRunsStore(wb)
    run = TrainingRun(
        id=str(uuid.uuid4()), status=RunStatus.QUEUED, job_id=None, training_sheet_ids=training_sheet_ids,
        export_id=f"export-{model_name}", export_version="1", base_model="SmolLM2-135M-Instruct",
        config={**TINY_CONFIG.as_json(), "learning_rate": learning_rate, "base_model": "SmolLM2-135M-Instruct", "model_name": model_name},
        train_pair_count=len(train_ids), val_pair_count=len(val_ids), created_by="tester@example.com",
    )
    store.insert(run, train_ids, val_ids)
    store.restart(run.id)
    store.set_tracking(run.id, "1", "mlflow-run-1", [f"eval-{i}" for i in range(4)])
    for step, loss in enumerate((2.5, 1.2), start=1):
        store.record_step(run.id, LossPoint(step, 2, loss, 80 * step, 1.5 * step))
    metrics = {"steps": 2, "train_tokens": 160, "train_seconds": 3.0, "tokens_per_s": 53.3, "final_loss": 1.2, "validation_loss": 1.4}
    store.succeed(replace(run, mlflow_run_id="mlflow-run-1"), model_name, version, metrics, _comparison(accuracy, base_accuracy))
    return store.get(run.id) or run


def _comparison(accuracy: float, base_accuracy: float) -> Comparison:
    """Scores with the given accuracies on four constructed answers."""
    def answers(share: float) -> list[str]:
        right = round(share * 4)
        return ['{"urgency": "urgent"}'] * right + ['{"urgency": "routine"}'] * (4 - right)

    items = [EvaluationItem(f"eval-{i}", '{"urgency": "urgent"}', URGENCY_SCHEMA) for i in range(4)]
    return compare(items, answers(base_accuracy), answers(accuracy))


def training_sql_flow(wb: Workbench) -> None:
    """Every statement a training run and the lineage views issue, without training a model
    (the real run is tests/services/train/test_training.py): for the Databricks SQL check."""
    from data_access.schema.migrate import migrate
    from services.train.evaluation_set import evaluation_pairs
    from services.train.lineage import LineageService
    from services.train.training import TrainingService

    migrate(wb.backend.engine, wb.settings)
    labeled = labeled_training_sheet(wb)
    ts = labeled.training_sheet.id
    run = recorded_run(wb, (ts,), labeled.pair_ids[:4], labeled.pair_ids[4:6], model_name="urgency", accuracy=1.0, base_accuracy=0.5)
    store = TrainingRunsStore(wb)
    failed = recorded_run(wb, (ts,), labeled.pair_ids[:2], (), model_name="urgency_small", accuracy=0.5, base_accuracy=0.5)
    store.set_status(failed.id, RunStatus.TRAINING)
    store.set_tracking(failed.id, "1", "mlflow-run-2", list(labeled.pair_ids[6:8]))
    store.set_databricks_run(failed.id, "42")
    store.finish(failed.id, RunStatus.FAILED, "out of memory", {"final_loss": 2.0})
    store.pair_ids(run.id)
    store.for_model("urgency", "1")
    evaluation_pairs(wb, run.id, EvaluationSource((ts,), max_pairs=3))
    service = TrainingService(wb)
    service.recent()
    service.get(run.id)
    service.loss_curve(run.id)
    service.evaluation_rows(run.id)
    lineage = LineageService(wb)
    lineage.models()
    lineage.models_trained_on(ts)
    lineage.training_sheets_of(run.model_id or "")
    pairs = lineage.pairs_of(run.model_id or "", limit=5)
    lineage.compare_models(ts)
    lineage.source_item(pairs[0])
