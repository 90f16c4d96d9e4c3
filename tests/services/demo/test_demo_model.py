"""The demo's trained model: one real LoRA run on the demo's Training Sheet, started through the
TRAIN page's export and training machinery, recorded like any run, once per store, and shown on
Home. The run here is a tiny configuration of it (two steps of two pairs) so the test stays fast."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from data_access.settings import load_settings
from data_access.tracking.factory import local_store
from services.core.domain.job import JobStatus
from services.core.governance import usable_for_sql
from services.core.jobs import JobRunner
from services.demo.trained_model import (
    DEMO_MODEL_NAME,
    DEMO_TEMPLATE,
    DEMO_TRAINING_CONFIG,
    demo_model,
    demo_training_wanted,
    start_demo_training,
    start_demo_training_in_background,
)
from services.train.export_records import Split
from services.train.exports import ExportService
from services.train.records import RunStatus
from tests.mlflow_store import empty_mlflow_db  # noqa: F401 - fixture: an MLflow store built once
from tests.pages.conftest import APP

pytestmark = pytest.mark.slow
TINY = replace(DEMO_TRAINING_CONFIG, epochs=1, max_steps=2, batch_size=2, max_length=64, max_new_tokens=12, lora_rank=4, lora_alpha=8)
TRAINING_WAIT_S = 240  # never reached when things work; the tiny run takes well under a minute
PAGE_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def trained(demo, empty_mlflow_db):  # noqa: F811 - the fixture imported above
    store = local_store(demo.settings.home)
    store.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_mlflow_db, store / "mlflow.db")
    before = demo_model(demo)
    run = start_demo_training(demo, TINY)
    job = JobRunner(demo).wait(run.job_id, TRAINING_WAIT_S)
    return before, run, job


def test_the_demo_model_trains_on_the_demo_training_sheet_and_is_recorded_like_any_run(demo, trained):
    before, run, job = trained
    assert before is not None and before.run is None and DEMO_TEMPLATE in before.training_sheet_name
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert (job.job_type, job.target_id, job.training_sheet_id) == ("train_model", run.id, before.training_sheet_id)

    engine = demo.backend.engine
    row = engine.query_one(
        f"SELECT status, model_name, model_version, training_sheet_ids, export_id, train_pair_ids, val_pair_ids, mlflow_run_id, job_id "
        f"FROM {demo.table('model_training_lineage')} WHERE id = :id", {"id": run.id},
    )
    assert (row["status"], row["model_name"], row["model_version"], row["job_id"]) == ("succeeded", DEMO_MODEL_NAME, "1", job.id)
    assert list(row["training_sheet_ids"]) == [before.training_sheet_id] and row["mlflow_run_id"]
    exports = ExportService(demo)
    assert exports.get(row["export_id"]).training_sheet_ids == (before.training_sheet_id,)
    assert list(row["train_pair_ids"]) == exports.pair_ids(row["export_id"], Split.TRAIN)
    assert list(row["val_pair_ids"]) == exports.pair_ids(row["export_id"], Split.VALIDATION)
    trainable = {r["id"] for r in engine.query(
        f"SELECT q.id FROM {demo.table('qa_pairs')} q WHERE q.training_sheet_id = :ts AND {usable_for_sql('q')}",
        {"ts": before.training_sheet_id, "use": "training"},
    )}
    assert len(trainable) == 45 and set(row["train_pair_ids"]) | set(row["val_pair_ids"]) == trainable  # the 15 held out stay out

    shown = demo_model(demo)
    assert shown.run.run_id == run.id and shown.run.status is RunStatus.SUCCEEDED


def test_the_demo_model_is_started_once_per_store_whatever_asks_again(demo, trained):
    _, run, _ = trained
    assert start_demo_training(demo) is None
    thread = start_demo_training_in_background(demo)  # the app's first page in a new process
    assert thread is not None
    thread.join(TRAINING_WAIT_S)
    assert start_demo_training_in_background(demo) is None  # the next pages of that process
    runs = demo.backend.engine.query(
        f"SELECT id FROM {demo.table('model_training_lineage')} WHERE get_json_object(training_config, '$.model_name') = :name",
        {"name": DEMO_MODEL_NAME},
    )
    assert [r["id"] for r in runs] == [run.id]


def test_home_shows_the_demo_model_with_its_job_progress(demo, trained, monkeypatch):
    job = trained[2]
    app = _home(demo, monkeypatch)
    assert any(m.value.startswith(f"**Demo model** `{DEMO_MODEL_NAME}`") for m in app.markdown)
    assert "Registered as version 1, ready for DEPLOY; its lineage is on the TRAIN page." in [c.value for c in app.caption]
    (bar,) = app.get("progress")
    assert bar.proto.text == f"{job.processed_items:,} of {job.total_items:,} items · succeeded"


def _home(demo, monkeypatch) -> AppTest:
    """Home as the app shows it on this store, demo data and demo training on."""
    monkeypatch.setenv("WORKBENCH_HOME", str(demo.settings.home))
    monkeypatch.setenv("WORKBENCH_USER", "demo.expert@example.com")
    for name in ("WORKBENCH_BACKEND", "DATABRICKS_WAREHOUSE_ID", "WORKBENCH_DEMO_DATA", "WORKBENCH_DEMO_TRAINING"):
        monkeypatch.delenv(name, raising=False)
    app = AppTest.from_file(APP, default_timeout=PAGE_TIMEOUT_S)
    app.run()
    assert not app.exception
    return app


def test_the_demo_model_is_switched_off_by_its_setting_and_on_databricks():
    assert demo_training_wanted(load_settings({}))
    assert not demo_training_wanted(load_settings({"WORKBENCH_DEMO_TRAINING": "off"}))
    assert not demo_training_wanted(load_settings({"WORKBENCH_DEMO_DATA": "0"}))
    assert not demo_training_wanted(load_settings({"WORKBENCH_BACKEND": "databricks", "DATABRICKS_WAREHOUSE_ID": "abc123"}))


def test_a_demo_run_a_stop_interrupted_is_shown_so_and_resumed_from_home(demo, trained, monkeypatch):
    _, run, job = trained
    # What a process stopped mid-run leaves behind: its job running with no thread, its run training.
    engine = demo.backend.engine
    engine.execute(f"UPDATE {demo.table('job_runs')} SET status = 'running', completed_at = NULL WHERE id = :id", {"id": job.id})
    engine.execute(f"UPDATE {demo.table('model_training_lineage')} SET status = 'training' WHERE id = :id", {"id": run.id})

    assert demo_model(demo).run.status is RunStatus.INTERRUPTED
    app = _home(demo, monkeypatch)
    assert "The app stopped while it trained. Resume trains it again from the start; nothing restarts it by itself." in [c.value for c in app.caption]
    app.button(key="home_demo_model_resume").click().run()
    assert not app.exception

    assert JobRunner(demo).wait(job.id, TRAINING_WAIT_S).status is JobStatus.SUCCEEDED
    resumed = demo_model(demo).run
    assert (resumed.run_id, resumed.status, resumed.model_version) == (run.id, RunStatus.SUCCEEDED, "2")
