"""LABEL (Mode A) figures on a Training Sheet of 100,000 pairs.

The Training Sheet is built set-based, not through the generation job (which renders and
inserts 100k pairs one batch at a time, minutes of setup for a figure that is not measured
here): a real sheet over a 100k-row table and a real published template, then the Training
Sheet row and its pairs inserted with QaPairsStore.insert_frame, as generation inserts them.
Each pair carries a drafted JSON answer and an AI confidence, one of ten measured agreement
rates (0.05 … 0.95, a tenth of the pairs each), with the drafter's record that says so kept on
the Training Sheet as generation keeps it (bulk approval refuses a confidence nobody measured),
so a filter on confidence ≥ 0.9 matches exactly 10,000 pairs.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bench.measure import Measurement, at_most, median, p95, timings_ms
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import Workbench, forget_prepared_stores, open_workbench
from services.generate.draft_calibration import CONFIG_KEY, Band, DraftCalibration

PAIRS = 100_000
BULK_PAIRS = 10_000  # pairs with AI confidence ≥ 0.9
BANDS = 10  # confidence bands of the drafter's record
ACTIONS = 200
PAGES = 100
PAGE_RERUNS = 30
USER = "bench@mirion.example"
_ALL_USES = ["training", "validation", "evaluation", "few_shot", "testing"]


@dataclass(frozen=True)
class _Sheet:
    training_sheet_id: str
    sheet_id: str


def _build(wb: Workbench) -> _Sheet:
    from services.core.domain.qa_pair import TrainingSheet
    from services.core.domain.sheet import SheetDraft
    from services.core.domain.template import FieldType, SchemaField, TemplateDraft
    from services.data.sheets import SheetService
    from services.generate.qa_pairs_store import INSERT_COLUMNS, QaPairsStore
    from services.generate.training_sheets_store import TrainingSheetsStore
    from services.templates.prompt_templates import TemplateService

    engine = wb.backend.engine
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    engine.execute(
        "CREATE TABLE mirion_vital.raw.bench_review_items AS SELECT concat('ITEM-', lpad(CAST(i AS STRING), 6, '0')) AS item_id, "
        "CAST(i % 5000 AS DECIMAL(10,2)) AS amount, concat('Provider ', CAST(i % 40 AS STRING)) AS provider FROM range(:n) AS t(i)",
        {"n": PAIRS},
    )
    sheet = SheetService(wb).create(SheetDraft("Bench review items", "mirion_vital.raw.bench_review_items", "item_id"))
    templates = TemplateService(wb)
    template = templates.publish(templates.create(TemplateDraft(
        name="Bench urgency", label_type="classification", system_prompt="You triage invoices.",
        user_prompt_template="Item {{ item_id }} from {{ provider }} for {{ amount }}.",
        output_schema=(SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")),),
    )))
    training_sheet_id = str(uuid.uuid4())
    TrainingSheetsStore(engine, wb.table("training_sheets"), wb.table("qa_pairs")).insert(TrainingSheet(
        training_sheet_id, "Bench review", sheet.id, template.id, template.version, "classification", "ai_generated", "review",
        generation_config={CONFIG_KEY: _drafter_record().to_json()}, created_by=USER,
    ))
    now = datetime.now(UTC)
    records = []
    for i in range(PAIRS):
        ref = f"ITEM-{i:06d}"
        answer = json.dumps({"urgency": "urgent" if i % 7 == 0 else "routine"})
        messages = json.dumps([
            {"role": "system", "content": "You triage invoices."},
            {"role": "user", "content": f"Item {ref} from Provider {i % 40} for {i % 5000}.00."},
            {"role": "assistant", "content": answer},
        ])
        band = ((i * 7919) % PAIRS) * BANDS // PAIRS  # a permutation of the pairs into ten equal bands
        confidence = _drafter_record().bands[band].agreement  # exactly 10% at ≥ 0.9
        records.append((
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"{training_sheet_id}/{ref}")), training_sheet_id, sheet.id, ref, i, "classification",
            messages, answer, [], None, "unlabeled", "ai_generated", _ALL_USES, [], "No governance tags on the source", "internal",
            confidence, None, None, None, None, now, now, 1,
        ))
    QaPairsStore(engine, wb.table("qa_pairs")).insert_frame(pd.DataFrame.from_records(records, columns=list(INSERT_COLUMNS)))
    # Fold the 100k-row load into the database file now, so its checkpoint is not timed as
    # part of the first review actions (a reviewer's store is not freshly bulk-loaded).
    engine.raw("CHECKPOINT")  # type: ignore[attr-defined]
    return _Sheet(training_sheet_id, sheet.id)


@functools.cache
def _drafter_record() -> DraftCalibration:
    """Band k holds raw scores [k/10, (k+1)/10), measured on 100 labeled items of which 5 + 10·k agreed."""
    bands = tuple(Band(k / BANDS, (k + 1) / BANDS, 100, 5 + 10 * k) for k in range(BANDS))
    return DraftCalibration("offline drafter", 100 * BANDS, sum(b.agreed for b in bands), '{"urgency":"routine"}', 300, bands)


def bench_review_action(wb: Workbench, sheet: _Sheet) -> Measurement:
    from services.core.domain.review import QueueFilter
    from services.review.actions import ReviewService
    from services.review.queue import ReviewQueue

    queue, review = ReviewQueue(wb), ReviewService(wb)
    work = QueueFilter(statuses=("unlabeled",), confidence_max=0.5)  # disjoint from the bulk approval's pairs
    current = [queue.first(sheet.training_sheet_id, work)]

    def approve_then_next() -> None:  # as the page does it: the next pair is looked up while the approval writes
        pair = current[0]
        upcoming = queue.prefetch_following(sheet.training_sheet_id, work, pair.ordinal)
        review.approve(pair, pair.row_version)
        current[0] = upcoming.result()

    samples = timings_ms(approve_then_next, repeat=ACTIONS)
    return at_most(
        f"Review action on {PAIRS:,} pairs (approve + canonical upsert + next pair), p95", p95(samples), 15, "ms",
        f"median {median(samples):.1f} ms over {ACTIONS} approvals",
    )


def bench_queue_page(wb: Workbench, sheet: _Sheet) -> Measurement:
    from services.core.domain.review import QueueFilter
    from services.review.queue import ReviewQueue

    queue = ReviewQueue(wb)
    # "Not usable for training" (the dual gate, negated): undecided pairs never pass the gate.
    filtered = QueueFilter(statuses=("unlabeled", "flagged"), confidence_min=0.3, confidence_max=0.95, prohibited_use="training")
    offsets = iter(range(0, 10**9, 50 * 37))
    total = queue.count(sheet.training_sheet_id, filtered)

    def one_page() -> None:
        queue.page(sheet.training_sheet_id, filtered, offset=next(offsets) % total, limit=50)

    samples = timings_ms(one_page, repeat=PAGES)
    searched = timings_ms(lambda: queue.page(sheet.training_sheet_id, QueueFilter(search="Provider 17 for 4"), 0, 50), repeat=20)
    return at_most(
        f"Review queue page (50 of {total:,} filtered pairs, with the count), p95", p95(samples), 25, "ms",
        f"median {median(samples):.1f} ms; status + confidence range + not-usable-for filters; "
        f"a text search over all {PAIRS:,} prompts: median {median(searched):.1f} ms",
    )


def bench_bulk_approve(wb: Workbench, sheet: _Sheet) -> Measurement:
    from services.core.domain.review import QueueFilter
    from services.labels.canonical_labels import CanonicalLabelService
    from services.review.actions import ReviewService

    before = CanonicalLabelService(wb).count(sheet.sheet_id)
    start = time.perf_counter()
    result = ReviewService(wb).bulk_approve(sheet.training_sheet_id, QueueFilter(confidence_min=0.9))
    seconds = time.perf_counter() - start
    created = CanonicalLabelService(wb).count(sheet.sheet_id) - before
    if result.changed != BULK_PAIRS or created != BULK_PAIRS:
        raise RuntimeError(f"bulk approval changed {result.changed} pairs and created {created} labels, expected {BULK_PAIRS}")
    return at_most(
        f"Bulk approve {BULK_PAIRS:,} pairs with their canonical labels", seconds, 2, "s",
        "plan (fetch + schema check) and apply: label MERGE, version INSERT, pair MERGE, one review event",
    )


def bench_page_rerun(home: Path, sheet: _Sheet) -> Measurement:
    """The LABEL page's rerun after an Approve click, through AppTest (the script run, server-side)."""
    from streamlit.testing.v1 import AppTest

    os.environ.update({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": USER})
    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    app.query_params["training_sheet"] = sheet.training_sheet_id
    app.run()
    app.switch_page("pages/label.py")
    app.run()
    samples = []
    for _ in range(PAGE_RERUNS):
        button = app.button(key="review_actions_A")
        start = time.perf_counter()
        button.click().run()
        samples.append((time.perf_counter() - start) * 1000)
        if app.exception or app.error or not app.success:
            raise RuntimeError(f"the approval did not go through: {[e.value for e in app.exception or app.error]}")
    return at_most(
        f"LABEL page rerun after an approval (AppTest, {PAIRS:,} pairs), median", median(samples), 250, "ms",
        f"p95 {p95(samples):.0f} ms over {PAGE_RERUNS} approvals",
    )


def run() -> list[Measurement]:
    root = Path(tempfile.mkdtemp(prefix="vital-bench-review-"))
    home = root / "home"
    saved = {k: os.environ.get(k) for k in ("WORKBENCH_HOME", "WORKBENCH_DEMO_DATA", "WORKBENCH_USER")}
    try:
        forget_prepared_stores()
        wb = open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": USER}))
        sheet = _build(wb)
        results = [bench_review_action(wb, sheet), bench_queue_page(wb, sheet), bench_bulk_approve(wb, sheet)]
        results.append(bench_page_rerun(home, sheet))
        return results
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        forget_prepared_stores()
        release_home(home)
        shutil.rmtree(root, ignore_errors=True)
