"""TRAIN figures: a local LoRA fine-tune of 200 pairs end to end, and the lineage query over a 100k-pair run.

Fine-tune: 240 labeled invoice-triage pairs made the way a user makes them (a sheet, canonical
labels, a published template, the generation job); 200 go to training, 20 to validation, and
the evaluation set is drawn from the rest by the evaluation gate. One epoch at the defaults
(batch 8, so 25 steps), through the real job: the trainer in this process on CPU, MLflow in a
fresh sqlite store, evaluation of the base and the tuned model, registration. Reported: training
steps/s and tokens/s (real tokens, no padding) and the wall time from "Start training" to a
registered model. The issue sets no goal for these; they are measured, not judged.

Lineage: "the pairs that trained model M" (the PRD's Query 3, with canonical labels) over a run
of 100,000 pairs: a page of 50 as the lineage panel shows it, the first and the last. Goal ≤ 200 ms.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path

from bench.measure import Measurement, at_most, median, p95, reported, timings_ms
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import Workbench, forget_prepared_stores, open_workbench

TRAIN_PAIRS = 200
VALIDATION_PAIRS = 20
EVALUATION_PAIRS = 20
LINEAGE_PAIRS = 100_000
JOB_TIMEOUT_S = 1800
LINEAGE_GOAL_MS = 200.0


def _workbench(home: Path) -> Workbench:
    forget_prepared_stores()
    return open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "bench@mirion.example"}))


def _labeled_pairs(wb: Workbench, items: int) -> tuple[str, list[str]]:
    """A Training Sheet of `items` labeled pairs over an invoice table, through canonical labels and generation."""
    from services.core.domain.canonical_label import LabelContent, LabelKey
    from services.core.domain.qa_pair import LabelingMode
    from services.core.domain.sheet import SheetDraft
    from services.core.domain.template import FieldType, SchemaField, TemplateDraft
    from services.core.jobs import JobRunner
    from services.data.sheets import SheetService
    from services.generate.generation import GenerationRequest, GenerationService
    from services.labels.canonical_labels import CanonicalLabelService
    from services.templates.prompt_templates import TemplateService

    engine = wb.backend.engine
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    engine.execute(
        "CREATE TABLE mirion_vital.raw.bench_invoices AS SELECT concat('INV-', lpad(CAST(i AS STRING), 5, '0')) AS invoice_id, "
        "CAST((i * 37) % 900 + 15 AS DECIMAL(10,2)) AS total_amount, concat('Provider ', CAST(i % 9 AS STRING)) AS provider_name, "
        "CAST(i % 75 AS INT) AS days_outstanding FROM range(:n) AS t(i)",
        {"n": items},
    )
    sheet = SheetService(wb).create(SheetDraft("Bench invoices", "mirion_vital.raw.bench_invoices", "invoice_id", sample_size=items))
    rows = engine.query("SELECT invoice_id, total_amount, days_outstanding FROM mirion_vital.raw.bench_invoices")
    labels = CanonicalLabelService(wb)
    for row in rows:
        urgent = row["days_outstanding"] >= 60 or float(row["total_amount"]) >= 700
        labels.save(LabelKey(sheet.id, row["invoice_id"], "classification"), LabelContent({"urgency": "urgent" if urgent else "routine"}), 0)
    templates = TemplateService(wb)
    template = templates.publish(templates.create(TemplateDraft(
        "Invoice urgency", "classification", system_prompt="You triage medical invoices. Answer with JSON only.",
        user_prompt_template="Invoice {{ invoice_id }} from {{ provider_name }}: {{ total_amount }} USD, {{ days_outstanding }} days outstanding.",
        output_schema=(SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")),),
    )))
    generation = GenerationService(wb)
    training_sheet = generation.start(GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    JobRunner(wb).wait(training_sheet.job_id or "", 300)
    ids = [r["id"] for r in engine.query(
        f"SELECT id FROM {wb.table('qa_pairs')} WHERE training_sheet_id = :id AND status = 'labeled' ORDER BY ordinal", {"id": training_sheet.id}
    )]
    return training_sheet.id, ids


def _export(wb: Workbench, name: str, pair_ids: list[str]) -> str:
    import json

    rows = wb.backend.engine.query(f"SELECT id, messages FROM {wb.table('qa_pairs')} WHERE array_contains(:ids, id)", {"ids": pair_ids})
    by_id = {r["id"]: r["messages"] for r in rows}
    path = f"/Volumes/mirion_vital/workbench/files/exports/bench/{name}"
    wb.backend.files.write_bytes(path, ("\n".join(json.dumps({"messages": json.loads(by_id[i])}) for i in pair_ids) + "\n").encode())
    return path


def bench_finetune() -> dict[str, float | int | str]:
    from services.core.jobs import JobRunner
    from services.train.records import EvaluationSource, TrainingConfig, TrainingInput
    from services.train.training import TrainingService, start_training

    home = Path(tempfile.mkdtemp(prefix="bench-train-"))
    try:
        wb = _workbench(home)
        training_sheet_id, ids = _labeled_pairs(wb, TRAIN_PAIRS + VALIDATION_PAIRS + EVALUATION_PAIRS)
        train, validation = ids[:TRAIN_PAIRS], ids[TRAIN_PAIRS : TRAIN_PAIRS + VALIDATION_PAIRS]
        given = TrainingInput(
            export_id="bench", training_sheet_ids=(training_sheet_id,), train_jsonl=_export(wb, "train.jsonl", train),
            validation_jsonl=_export(wb, "validation.jsonl", validation), train_pair_ids=tuple(train),
            validation_pair_ids=tuple(validation), evaluation=EvaluationSource((training_sheet_id,), max_pairs=EVALUATION_PAIRS),
        )
        started = time.perf_counter()
        run = start_training(wb, given, TrainingConfig())
        job = JobRunner(wb).wait(run.job_id or "", JOB_TIMEOUT_S)
        wall_s = time.perf_counter() - started
        if job.status != "succeeded":
            raise RuntimeError(f"the benchmark run ended {job.status}: {job.error}")
        done = TrainingService(wb).get(run.id)
        metrics = done.metrics
        return {
            "pairs": TRAIN_PAIRS, "steps": metrics["steps"], "train_seconds": metrics["train_seconds"],
            "steps_per_s": round(metrics["steps_per_s"], 3), "tokens_per_s": round(metrics["tokens_per_s"], 1),
            "tokens": metrics["train_tokens"], "wall_to_registered_s": round(wall_s, 1),
            "final_loss": round(metrics["final_loss"], 3), "base_accuracy": metrics.get("base_accuracy", 0.0),
            "fine_tuned_accuracy": metrics.get("fine_tuned_accuracy", 0.0), "trainer": done.config.get("trainer", ""),
            "model": done.model_id or "",
        }
    finally:
        release_home(home)
        forget_prepared_stores()
        shutil.rmtree(home, ignore_errors=True)


def bench_lineage_query(pairs: int = LINEAGE_PAIRS) -> dict[str, float | int]:
    from services.train.lineage import LineageService
    from services.train.records import RunStatus, TrainingRun
    from services.train.runs_store import TrainingRunsStore

    home = Path(tempfile.mkdtemp(prefix="bench-lineage-"))
    try:
        wb = _workbench(home)
        engine = wb.backend.engine
        engine.execute(
            f"INSERT INTO {wb.table('qa_pairs')} (id, training_sheet_id, sheet_id, item_ref, ordinal, messages, status, labeling_mode, row_version) "
            "SELECT concat('pair-', CAST(i AS STRING)), 'ts-1', 'sheet-1', concat('ITEM-', CAST(i AS STRING)), CAST(i AS INT), "
            "'[{\"role\": \"user\", \"content\": \"Item\"}, {\"role\": \"assistant\", \"content\": \"{}\"}]', 'labeled', 'manual', 1 "
            "FROM range(:n) AS t(i)",
            {"n": pairs},
        )
        ids = tuple(f"pair-{i}" for i in range(pairs))
        store = TrainingRunsStore(wb)
        run = TrainingRun(str(uuid.uuid4()), RunStatus.QUEUED, None, ("ts-1",), "bench", "1", "SmolLM2-135M-Instruct", {},
                          int(pairs * 0.9), pairs - int(pairs * 0.9))
        store.insert(run, ids[: int(pairs * 0.9)], ids[int(pairs * 0.9) :])
        store.succeed(run, "bench_model", "1", {}, None)
        lineage = LineageService(wb)
        first = timings_ms(lambda: lineage.pairs_of("bench_model/1"), repeat=30)
        last = timings_ms(lambda: lineage.pairs_of("bench_model/1", offset=pairs - 50), repeat=30)
        return {"pairs": pairs, "first_page_p95_ms": round(p95(first), 1), "first_page_median_ms": round(median(first), 1),
                "last_page_p95_ms": round(p95(last), 1)}
    finally:
        release_home(home)
        forget_prepared_stores()
        shutil.rmtree(home, ignore_errors=True)


def run() -> list[Measurement]:
    lineage = bench_lineage_query()
    figures = bench_finetune()
    detail = (
        f"{figures['steps']} steps (batch 8, 1 epoch) in {figures['train_seconds']} s, {figures['tokens']:,} tokens; "
        f"{figures['trainer']}; final loss {figures['final_loss']}; held-out accuracy base {figures['base_accuracy']:.0%} → "
        f"fine-tuned {figures['fine_tuned_accuracy']:.0%}"
    )
    return [
        reported("Local fine-tune, 200 pairs: training steps/s", float(figures["steps_per_s"]), "steps/s", detail),
        reported("Local fine-tune, 200 pairs: training tokens/s", float(figures["tokens_per_s"]), "tokens/s", "real tokens, no padding"),
        reported("Local fine-tune, 200 pairs: Start training → registered model", float(figures["wall_to_registered_s"]), "s",
                 "job, MLflow run, training, evaluation of base and tuned model on 20 pairs, model logged and registered"),
        at_most("Lineage: the pairs that trained model M (100k-pair run), first page p95", float(lineage["first_page_p95_ms"]), LINEAGE_GOAL_MS, "ms",
                f"a page of 50 with their canonical labels; median {lineage['first_page_median_ms']} ms; last page p95 {lineage['last_page_p95_ms']} ms"),
    ]


if __name__ == "__main__":
    print(bench_lineage_query())
    print(bench_finetune())
