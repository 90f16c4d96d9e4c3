"""MONITOR figures: the page's data over a 1,000,000-row inference log, all of it inside the page's
default window (the last 24 hours), so every query scans and aggregates every row: the worst
case the page meets. Goal (issue 10): the page's queries in ≤ 1.5 s.

The store holds a trained model as TRAIN records it (a labeled invoice Training Sheet, a finished
run's lineage) and the log, inserted set-based: one version, answers parsed from JSON, a tenth of
the requests rendered from the model's sheet items (so accuracy and the input drift have rows to
join). Measured: what one run of pages/monitor.py asks its services, in the page's order (the
prompt-text shift runs on request, not on a page run, and is not included)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.measure import Measurement, at_most, median, timings_ms
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import Workbench, forget_prepared_stores, open_workbench
from services.monitor.drift import DriftService, prediction_drift
from services.monitor.log_scope import LogScope, Window
from services.monitor.predictions import PredictionService
from services.monitor.samples import SampleService
from services.monitor.traffic import TrafficService
from services.monitor.watched_model import watched_model

LOG_ROWS = 1_000_000
PAGE_GOAL_S = 1.5
REPEAT = 3
ENDPOINT = "urgency"


def _build(wb: Workbench) -> None:
    from tests.train_model_builders import labeled_training_sheet, recorded_run

    labeled = labeled_training_sheet(wb, items=10)
    recorded_run(wb, (labeled.training_sheet.id,), labeled.pair_ids[:8], labeled.pair_ids[8:], model_name="invoices_urgency_lora",
                 accuracy=1.0, base_accuracy=0.5)
    sheet_id = labeled.training_sheet.sheet_id
    # Spread over the last 23 hours; every 10th request from a sheet item, every 50th refused.
    wb.backend.engine.execute(
        f"INSERT INTO {wb.table('inference_log')} (id, deployment_id, endpoint_name, request_id, request, response, prediction, "
        "latency_ms, status_code, created_at, model_name, model_version, requester, trace_id, guardrails, guardrails_passed, source, "
        "replayed, sheet_id, item_ref) "
        "SELECT concat('log-', CAST(i AS STRING)), 'd', :endpoint, concat('r', CAST(i AS STRING)), "
        "concat('{\"messages\": [{\"role\": \"user\", \"content\": \"Invoice INV-', CAST(i % 200 AS STRING), ' for ', CAST(i % 997 AS STRING), '.00\"}]}'), "
        "'{\"content\": \"x\"}', CASE WHEN i % 3 = 0 THEN '{\"urgency\": \"urgent\"}' ELSE '{\"urgency\": \"routine\"}' END, "
        "CAST(20 + i % 180 AS DOUBLE), CASE WHEN i % 50 = 0 THEN 500 ELSE 200 END, "
        "timestampadd(SECOND, -CAST(i % 82800 AS INT), current_timestamp()), 'invoices_urgency_lora', '1', 'bench@example.com', "
        "concat('t', CAST(i AS STRING)), '[]', true, 'api', false, "
        "CASE WHEN i % 10 = 0 THEN :sheet_id END, CASE WHEN i % 10 = 0 THEN concat('INV-000', CAST(i % 10 AS STRING)) END "
        "FROM range(:rows) AS t(i)",
        {"endpoint": ENDPOINT, "sheet_id": sheet_id, "rows": LOG_ROWS},
    )


def page_data(wb: Workbench) -> None:
    """What one run of the MONITOR page asks its services (pages/monitor.py)."""
    traffic, predictions, drift, samples = TrafficService(wb), PredictionService(wb), DriftService(wb), SampleService(wb)
    scope = LogScope(ENDPOINT, None, Window.DAY)
    traffic.endpoints()
    traffic.in_window(ENDPOINT, None, Window.DAY)
    model = watched_model(wb, scope)
    assert model is not None, "the bench log's version has no lineage"
    distributions = predictions.distributions(scope, model)
    predictions.accuracy_over_time(scope, model)
    predictions.confidence_histogram(scope)
    prediction_drift(distributions)
    drift.numeric_inputs(scope, model)
    samples.recent(scope, model.label_type)


def run() -> list[Measurement]:
    root = Path(tempfile.mkdtemp(prefix="vital-bench-monitor-"))
    home = root / "home"
    saved = os.environ.get("WORKBENCH_HOME")
    try:
        forget_prepared_stores()
        wb = open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "bench@example.com"}))
        _build(wb)
        seconds = median(timings_ms(lambda: page_data(wb), REPEAT, warmup=1)) / 1000
        # CPU time of the process (every DuckDB thread) for one run: the work itself, which a busy
        # machine does not inflate the way it inflates wall-clock time.
        started = time.process_time()
        page_data(wb)
        cpu = time.process_time() - started
        load = os.getloadavg()[0]
        return [at_most("MONITOR page data over 1,000,000 log rows (24 h window)", seconds, PAGE_GOAL_S, "s",
                        f"median of {REPEAT} page runs' queries; all rows in the window; {cpu:.2f} s of CPU per run "
                        f"on {os.cpu_count()} cores; load average {load:.1f}")]
    finally:
        if saved is not None:
            os.environ["WORKBENCH_HOME"] = saved
        forget_prepared_stores()
        release_home(home)
        shutil.rmtree(root, ignore_errors=True)
