"""The demo's trained model: one real LoRA run, started in the background after the first start,
so DEPLOY can be shown without waiting for a training.

It trains on the demo's expert-approved Training Sheet (the crystals' defect classification,
whose governance keeps the held-out and serial-number pairs out) through the same export and
`start_training` as the TRAIN page, so it is an export version, a job, an MLflow run and a
lineage row like any other run. Its registered name (DEMO_MODEL_NAME) marks it: a store whose
demo Training Sheet already has a run of that name gets no second one, whatever became of the
first (an interrupted run reads as interrupted and is resumed from the page by a person, as
every job is). `make demo-reset` makes a new demo Training Sheet, which then gets its run.

Embedded stores only, with demo data on, unless WORKBENCH_DEMO_TRAINING=off. Finding the demo
model is a few small queries, cheap enough for every Home run; starting it imports the export
and training services (PyMuPDF among them, about 2 s), which only the background thread pays.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from data_access.settings import Settings
from services.core.errors import WorkbenchError
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.demo.names import CRYSTALS_SHEET
from services.train.records import FINISHED, RunStatus, TrainingConfig

if TYPE_CHECKING:
    from services.train.export_records import ExportVersion
    from services.train.exports import ExportService
    from services.train.records import TrainingRun

log = logging.getLogger(__name__)

DEMO_TEMPLATE = "Defect Classification - Visual Inspection"
DEMO_MODEL_NAME = "demo_crystal_defects_lora"
# One epoch of the export's 37 training pairs at batch 8: 5 steps, registered 440 s after the
# start here (one training thread, a 2-core machine other work kept busy). Three epochs did not
# finish within 20 minutes; a demo model should be ready well before anyone reaches DEPLOY.
DEMO_TRAINING_CONFIG = TrainingConfig(model_name=DEMO_MODEL_NAME, epochs=1)
EXPORT_TIMEOUT_S = 300  # the demo's export is 45 pairs, seconds; this only bounds a stuck one

_run_lock = threading.Lock()  # two callers at once must not start two runs
_homes_lock = threading.Lock()  # held only around the set below: a page never waits on an export
_started_homes: set[str] = set()  # stores this process has started the demo run for
_start_errors: dict[str, str] = {}  # why the start failed, by store, until the process restarts


@dataclass(frozen=True)
class DemoRun:
    run_id: str
    job_id: str | None
    status: RunStatus
    model_version: str | None

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True)
class DemoModel:
    """The demo's Training Sheet and its run (None until the run is recorded)."""

    training_sheet_id: str
    training_sheet_name: str
    run: DemoRun | None
    start_error: str | None = None  # the background start failed (no run then)


def demo_training_wanted(settings: Settings) -> bool:
    return settings.demo_training and settings.load_demo_data and not settings.is_databricks


def start_demo_training_in_background(workbench: Workbench) -> threading.Thread | None:
    """Once per store and process: export and start the demo run in a thread, so no page waits
    for it; returns the thread, or None when there is nothing to do."""
    if not demo_training_wanted(workbench.settings):
        return None
    home = str(workbench.settings.home.resolve())
    with _homes_lock:
        if home in _started_homes:
            return None
        _started_homes.add(home)
    thread = threading.Thread(target=_start_logged, args=(workbench, home), name="demo-training", daemon=True)
    thread.start()
    return thread


def _start_logged(workbench: Workbench, home: str) -> None:
    try:
        run = start_demo_training(workbench)
    except Exception as error:  # the demo goes on without its model; the TRAIN page still trains one
        log.exception("The demo model could not be started")
        _start_errors[home] = str(error) or type(error).__name__
        return
    if run is not None:
        log.info("Started the demo model's training run %s (job %s)", run.id, run.job_id)


def start_demo_training(workbench: Workbench, config: TrainingConfig = DEMO_TRAINING_CONFIG) -> TrainingRun | None:
    """Export the demo Training Sheet (or reuse its export) and start the run; None when the
    store has no demo Training Sheet or already has its run."""
    from services.train.exports import ExportService
    from services.train.training import start_training

    with _run_lock:
        found = _demo_training_sheet(workbench)
        if found is None or _demo_run(workbench, found[0], config.model_name) is not None:
            return None
        exports = ExportService(workbench)
        return start_training(workbench, exports.training_input(_export(exports, workbench, found[0])), config)


def demo_model(workbench: Workbench) -> DemoModel | None:
    """The demo's Training Sheet and its run, when this store is one the demo trains on."""
    if not demo_training_wanted(workbench.settings):
        return None
    found = _demo_training_sheet(workbench)
    if found is None:
        return None
    training_sheet_id, name = found
    run = _demo_run(workbench, training_sheet_id, DEMO_MODEL_NAME)
    if run is not None and run.job_id and not run.is_finished and JobRunner(workbench).get(run.job_id).is_finished:
        # Its job ended without finishing it (the app stopped mid-run): the lineage row says so from now on.
        from services.train.training import TrainingService

        TrainingService(workbench).get(run.run_id)
        run = _demo_run(workbench, training_sheet_id, DEMO_MODEL_NAME)
    return DemoModel(training_sheet_id, name, run, _start_errors.get(str(workbench.settings.home.resolve())))


def _demo_training_sheet(workbench: Workbench) -> tuple[str, str] | None:
    """The first Training Sheet made from the demo's crystals sheet with the defect template: (id, name)."""
    row = workbench.backend.engine.query_one(
        f"SELECT ts.id, ts.name FROM {workbench.table('training_sheets')} ts JOIN {workbench.table('sheets')} s ON s.id = ts.sheet_id "
        "WHERE s.name = :sheet AND get_json_object(ts.generation_config, '$.template_name') = :template "
        "ORDER BY ts.created_at, ts.id LIMIT 1",
        {"sheet": CRYSTALS_SHEET, "template": DEMO_TEMPLATE},
    )
    return (row["id"], row["name"]) if row else None


def _demo_run(workbench: Workbench, training_sheet_id: str, model_name: str) -> DemoRun | None:
    row = workbench.backend.engine.query_one(
        f"SELECT id, job_id, status, model_version FROM {workbench.table('model_training_lineage')} "
        "WHERE array_contains(training_sheet_ids, :training_sheet_id) "
        "AND get_json_object(training_config, '$.model_name') = :model_name LIMIT 1",
        {"training_sheet_id": training_sheet_id, "model_name": model_name},
    )
    return DemoRun(row["id"], row["job_id"], RunStatus(row["status"]), row["model_version"]) if row else None


def _export(exports: ExportService, workbench: Workbench, training_sheet_id: str) -> ExportVersion:
    """The newest export of exactly this Training Sheet, or a new one with the default split."""
    existing = [v for v in exports.versions([training_sheet_id]) if tuple(v.training_sheet_ids) == (training_sheet_id,)]
    if existing:
        return existing[0]
    job = JobRunner(workbench).wait(exports.start([training_sheet_id], exports.default_config([training_sheet_id])), EXPORT_TIMEOUT_S)
    if job.status != "succeeded" or not job.result:
        raise WorkbenchError(f"Exporting the demo Training Sheet ended {job.status}: {job.error or 'no version written'}")
    return exports.get(str(job.result["export_id"]))
