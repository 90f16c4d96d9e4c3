"""TRAIN export: the dual-gate export of 100,000 pairs with a stratified split, written as chat
JSONL, against DuckDB writing the same gated rows as JSON by itself (`COPY (SELECT …) TO`),
measured in the same run on the same store.

The pairs are built set-based in SQL, the way generation would leave them: one Training Sheet,
five label values, 85% labeled (the rest unlabeled, rejected or flagged), 10% prohibited for
training (PHI), 5% held out, half with an inspection image attached as a content part.
Time is from submitting the export job to its version row; peak is the process's resident
memory high-water mark during the export (reset just before it, /proc/self/clear_refs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import Measurement, at_most
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from data_access.sql.transpile import to_duckdb
from services.core.workbench import Workbench, forget_prepared_stores, open_workbench

PAIRS = 100_000
USER = "bench@mirion.example"
_MB = 1024 * 1024


def _store(home: Path) -> tuple[Workbench, str]:
    from services.core.domain.qa_pair import TrainingSheet
    from services.core.domain.sheet import SheetDraft
    from services.core.domain.template import FieldType, SchemaField, TemplateDraft
    from services.data.sheets_store import SheetsStore
    from services.generate.training_sheets_store import TrainingSheetsStore
    from services.templates.prompt_templates import TemplateService

    forget_prepared_stores()
    wb = open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": USER}))
    templates = TemplateService(wb)
    template = templates.publish(templates.create(TemplateDraft(
        "Bench defects", "classification", system_prompt="You are a scintillator crystal inspection expert.",
        user_prompt_template="Inspection {{ inspection_id }}", output_schema=(
            SchemaField("defect_type", FieldType.STRING, choices=("none", "crack", "inclusion", "delamination", "surface_contamination")),
            SchemaField("severity", FieldType.STRING, choices=("none", "minor", "major", "critical")),
        ),
    )))
    training_sheet = TrainingSheet("bench-export", "Bench export", "bench-sheet", template.id, template.version, "classification", "manual", "review", created_by=USER)
    engine = wb.backend.engine
    # The source the export reads the current Unity Catalog tags of (untagged: the stored constraints decide).
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    engine.execute("CREATE TABLE mirion_vital.raw.bench_crystals AS SELECT concat('CRY-', CAST(i AS STRING)) AS crystal_id FROM range(:n) AS t(i)", {"n": PAIRS})
    SheetsStore(engine, wb.table("sheets")).insert("bench-sheet", SheetDraft("Bench crystals", "mirion_vital.raw.bench_crystals", "crystal_id"), PAIRS, USER)
    TrainingSheetsStore(engine, wb.table("training_sheets"), wb.table("qa_pairs")).insert(training_sheet)
    engine.execute(_INSERT.format(pairs=wb.table("qa_pairs")), {"n": PAIRS, "training_sheet_id": training_sheet.id})
    engine.raw("CHECKPOINT")  # type: ignore[attr-defined]  # the load is folded in now, not during the export
    return wb, training_sheet.id


_DEFECT = "element_at(array('none', 'crack', 'inclusion', 'delamination', 'surface_contamination'), CAST(i % 5 AS INT) + 1)"
_INSERT = (
    "INSERT INTO {pairs} (id, training_sheet_id, sheet_id, item_ref, ordinal, label_type, messages, media_refs, status, labeling_mode, "
    "allowed_uses, prohibited_uses, usage_reason, data_classification, created_at, updated_at, row_version) "
    "SELECT md5(concat('pair-', CAST(i AS STRING))), :training_sheet_id, 'bench-sheet', concat('CRY-', CAST(i AS STRING)), CAST(i AS INT), "
    "'classification', concat('[{{\"role\": \"system\", \"content\": \"You are a scintillator crystal inspection expert. Answer with one JSON "
    "object matching the output schema.\"}}, {{\"role\": \"user\", \"content\": \"Classify the defect visible in this crystal and its "
    "severity.\\\\n\\\\nInspection CRY-', CAST(i AS STRING), ' of a NaI(Tl) scintillator crystal (batch B-', CAST(i % 97 AS STRING), "
    "', detector D-', CAST(i % 1013 AS STRING), '). Growth conditions: 24.1 °C, 38.0 % RH, growth rate 1.1 mm/h. Measured light yield "
    "0.97, energy resolution 6.9 %. The inspection image is attached.\"}}, {{\"role\": \"assistant\", \"content\": \"{{\\\\\"defect_type\\\\\": "
    "\\\\\"', " + _DEFECT + ", '\\\\\", \\\\\"severity\\\\\": \\\\\"minor\\\\\"}}\"}}]'), "
    "CASE WHEN i % 2 = 0 THEN array(concat('/Volumes/mirion_vital/raw/crystal_images/CRY-', CAST(i AS STRING), '.png')) ELSE array() END, "
    "CASE WHEN i % 20 < 17 THEN 'labeled' WHEN i % 20 = 17 THEN 'unlabeled' WHEN i % 20 = 18 THEN 'rejected' ELSE 'flagged' END, 'manual', "
    "CASE WHEN i % 100 < 10 THEN array('evaluation', 'few_shot') WHEN i % 100 < 15 THEN array('evaluation') "
    "ELSE array('training', 'validation', 'evaluation', 'few_shot', 'testing') END, "
    "CASE WHEN i % 100 < 15 THEN array('training', 'validation') ELSE array() END, "
    "CASE WHEN i % 100 < 10 THEN 'Contains PHI - HIPAA compliance' WHEN i % 100 < 15 THEN 'Held-out test set - no leakage' ELSE '' END, "
    "CASE WHEN i % 100 < 10 THEN 'restricted' ELSE 'internal' END, current_timestamp(), current_timestamp(), 1 "
    "FROM range(:n) AS t(i)"
)


class _PeakRss:
    """The process's resident-memory high-water mark since the last reset (Linux)."""

    def reset(self) -> None:
        Path("/proc/self/clear_refs").write_text("5")

    def mb(self) -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def _export(wb: Workbench, training_sheet_id: str, config: object) -> tuple[float, dict]:
    from services.core.jobs import JobRunner
    from services.train.exports import ExportService

    start = time.perf_counter()
    job = JobRunner(wb).wait(ExportService(wb).start([training_sheet_id], config), 600)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    if job.status != "succeeded":
        raise RuntimeError(f"The bench export ended {job.status}: {job.error}")
    return elapsed, job.result or {}


def _duckdb_alone(wb: Workbench, training_sheet_id: str, config: object, target: Path) -> float:
    """DuckDB writing the same gated rows (with the same checks, label value and draw) as JSON."""
    from services.train.export_sql import candidates_sql, plan_params
    from services.train.exports import ExportService

    select = (
        f"SELECT k.id, k.training_sheet_id, k.messages, k.media_refs, k.train_ok, k.validation_ok, k.stratum, k.draw "
        f"FROM ({candidates_sql(wb.table('qa_pairs'), config)}) AS k WHERE k.readable = 1 ORDER BY k.training_sheet_id, k.ordinal"  # type: ignore[arg-type]
    )
    transpiled = to_duckdb(select)
    governance = ExportService(wb).governance([training_sheet_id])
    params = plan_params([training_sheet_id], config, governance)  # type: ignore[arg-type]
    cursor = wb.backend.engine.connection.cursor()  # type: ignore[attr-defined]
    start = time.perf_counter()
    cursor.execute(f"COPY ({transpiled.sql}) TO '{target}' (FORMAT json)", {k: params[k] for k in transpiled.parameter_names})
    return time.perf_counter() - start


def _measure(home: Path, training_sheet_id: str) -> dict[str, float | int]:
    """In a process of its own: the export and DuckDB's COPY, on the store the parent built."""
    from services.train.export_records import SplitConfig, Stratify
    from services.train.exports import ExportService

    wb = open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": USER}))
    config = SplitConfig(0.2, 42, Stratify.FIELD, "defect_type")
    peak = _PeakRss()
    ExportService(wb).preview([training_sheet_id], config)  # warm, as the page does before Export: imports, transpiles, the table read once
    before = peak.mb()
    peak.reset()
    seconds, result = _export(wb, training_sheet_id, config)
    peak_mb = peak.mb()
    alone = _duckdb_alone(wb, training_sheet_id, config, home / "alone.json")
    return {"seconds": seconds, "alone": alone, "peak_mb": peak_mb, "before_mb": before, **result}


def run() -> list[Measurement]:
    home = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        _, training_sheet_id = _store(home)
        forget_prepared_stores()
        release_home(home)  # DuckDB locks its file: the measuring process opens it next
        # A fresh process, so the peak is the export's and not the 100k-row load's.
        child = subprocess.run(
            [sys.executable, "-m", "bench.train_export", str(home), training_sheet_id],
            cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, check=True, timeout=900,
        )
        m = json.loads(child.stdout.strip().splitlines()[-1])
        written = int(m["train_pairs"]) + int(m["validation_pairs"])
        detail = (
            f"{written:,} pairs written ({m['train_pairs']:,} train, {m['validation_pairs']:,} validation) of {PAIRS:,}; "
            f"DuckDB COPY of the same gated rows to JSON: {m['alone']:.2f} s"
        )
        return [
            at_most(f"TRAIN export of {PAIRS:,} pairs, dual gates + stratified split, chat JSONL", float(m["seconds"]), 2, "s", detail),
            at_most("TRAIN export, peak resident memory of the process", float(m["peak_mb"]), 500, "MB",
                    f"{float(m['before_mb']):.0f} MB before the export (interpreter, libraries, DuckDB's cache)"),
            at_most("TRAIN export vs DuckDB writing the same rows as JSON", float(m["seconds"]) / float(m["alone"]), 2, "×",
                    f"{float(m['seconds']):.2f} s vs {float(m['alone']):.2f} s"),
        ]
    finally:
        forget_prepared_stores()
        release_home(home)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(_measure(Path(sys.argv[1]), sys.argv[2])))
