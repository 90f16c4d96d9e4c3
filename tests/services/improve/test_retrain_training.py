"""A real retrain: the model's Training Sheet exported again with the approved feedback-derived
pairs, a tiny real LoRA run with the previous run's configuration, registered as the next version
whose lineage names the feedback it learned from. One run (slow): the rest of the retrain is
tested without training in test_retrain.py."""

from __future__ import annotations

import pytest

from data_access.tracking.factory import experiment_name, open_tracker
from services.core.domain.job import JobStatus
from services.core.jobs import JobRunner
from services.improve.retrain import RetrainService
from services.improve.retrain_records import RetrainStatus
from services.train.exports import ExportService
from services.train.lineage import LineageService
from services.train.records import RunStatus
from services.train.training import TrainingService
from tests.mlflow_store import empty_mlflow_db, fresh_mlflow_store  # noqa: F401 - fixtures: an empty MLflow store per test
from tests.retrain_builders import MODEL, stop_jobs, trained_model_with_feedback

pytestmark = pytest.mark.slow
TRAINING_WAIT_S = 300  # never reached when things work; a tiny run takes well under a minute


def _register_first_version(workbench, model_dir) -> None:
    """Version 1 in the registry, as the recorded run of the builder says it was registered."""
    tracker = open_tracker(workbench.settings)
    tracked = tracker.start_run(experiment_name(workbench.settings), "v1", {})
    (model_dir / "MLmodel").write_text("artifact_path: model\n")
    tracker.register(tracked.run_id, str(model_dir), MODEL, "candidate", {})


def test_a_retrain_registers_the_next_version_whose_lineage_names_the_feedback_it_learned_from(workbench, tmp_path):
    labeled, made = trained_model_with_feedback(workbench, approved=2, unapproved=1)
    _register_first_version(workbench, tmp_path)
    runner = JobRunner(workbench)
    try:
        retrain = RetrainService(workbench).start(MODEL)
        job = runner.wait(retrain.job_id, TRAINING_WAIT_S)
        assert job.status is JobStatus.SUCCEEDED, job.error
        retrain = RetrainService(workbench).get(retrain.id)
        assert retrain.status is RetrainStatus.TRAINING and retrain.lineage_id
        run = TrainingService(workbench).get(retrain.lineage_id)
        trained = runner.wait(run.job_id, TRAINING_WAIT_S)
        assert trained.status is JobStatus.SUCCEEDED, trained.error
    finally:
        stop_jobs(runner)

    run = TrainingService(workbench).get(retrain.lineage_id)
    assert run.status is RunStatus.SUCCEEDED and (run.model_name, run.model_version) == (MODEL, "2")
    previous = TrainingService(workbench).get(retrain.previous_lineage_id)
    same = ("max_steps", "batch_size", "learning_rate", "lora_rank", "lora_alpha", "max_length", "seed", "model_name")
    assert {k: run.config[k] for k in same} == {k: previous.config[k] for k in same}  # the previous run's configuration
    assert run.training_sheet_ids == (labeled.training_sheet.id,)

    export = ExportService(workbench).get(run.export_id or "")
    assert export.training_sheet_ids == (labeled.training_sheet.id,) and export.train_count + export.validation_count == 10
    trained_on = set(workbench.backend.engine.query_one(
        f"SELECT qa_pair_ids FROM {workbench.table('model_training_lineage')} WHERE id = :id", {"id": run.id})["qa_pair_ids"])
    approved = {p for _, p in made[:2]}
    assert approved <= trained_on and made[2][1] not in trained_on  # the unapproved one stays out

    assert LineageService(workbench).feedback_of(run.model_id or "") == sorted(f for f, _ in made[:2])
    assert RetrainService(workbench).waiting_for(MODEL) is None  # learned: nothing waits any more
