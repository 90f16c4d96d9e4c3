"""A model trained once for a whole test module: the tiny real LoRA run of the TRAIN tests
(tests/services/train/test_training.py), registered in the module's own MLflow store with its
lineage row. DEPLOY's tests read it and never change it, so sharing it saves ~40 s a test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from data_access.tracking.factory import local_store, local_tracking_uri
from services.core.domain.job import JobStatus
from services.core.jobs import JobRunner
from services.core.workbench import Workbench, forget_prepared_stores, open_workbench
from services.train.records import TrainingRun
from services.train.training import TrainingService, start_training
from tests.job_works import stop_all_jobs
from tests.train_model_builders import TINY_CONFIG, labeled_training_sheet, training_input

TRAINING_WAIT_S = 240  # never reached when things work; a tiny run takes well under a minute


@dataclass(frozen=True)
class TrainedModel:
    workbench: Workbench
    run: TrainingRun  # succeeded: model_name, model_version and mlflow_run_id are set

    @property
    def tracking_uri(self) -> str:
        return local_tracking_uri(self.workbench.settings.home)


@contextmanager
def trained_model(home: Path, empty_mlflow_db: Path) -> Iterator[TrainedModel]:
    """`empty_mlflow_db` is the session's built MLflow store (tests.mlflow_store)."""
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "tester@example.com"})
    local_store(home).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_mlflow_db, local_store(home) / "mlflow.db")
    forget_prepared_stores()
    workbench = open_workbench(settings)
    runner = JobRunner(workbench)
    try:
        run = start_training(workbench, training_input(workbench, labeled_training_sheet(workbench)), TINY_CONFIG)
        job = runner.wait(run.job_id, TRAINING_WAIT_S)
        assert job.status is JobStatus.SUCCEEDED, job.error
        yield TrainedModel(workbench, TrainingService(workbench).get(run.id))
    finally:
        stop_all_jobs(runner)
        forget_prepared_stores()
        release_home(home)
