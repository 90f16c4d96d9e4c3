"""A real LoRA fine-tune of SmolLM2-135M-Instruct on CPU, tracked in the test's own MLflow store.

Each run is a few steps on a few short pairs, so a test stays under a minute on a busy 2-core
machine; what is checked is the whole path: the job, the loss per step, the evaluation of the
base and the tuned model, the registered version with its alias, and the lineage row.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from data_access.tracking.factory import local_tracking_uri
from services.core.domain.job import JobStatus
from services.core.errors import ValidationError
from services.core.jobs import JobRunner
from services.train.records import RunStatus
from services.train.training import TrainingService, start_training
from tests.job_works import eventually, stop_all_jobs
from tests.mlflow_store import empty_mlflow_db, fresh_mlflow_store  # noqa: F401 - fixtures: an empty MLflow store per test
from tests.train_model_builders import TINY_CONFIG, labeled_training_sheet, training_input

pytestmark = pytest.mark.slow
TRAINING_WAIT_S = 240  # never reached when things work; a tiny run takes well under a minute


@pytest.fixture
def runner(workbench):
    runner = JobRunner(workbench)
    yield runner
    stop_all_jobs(runner)


def _mlflow(workbench):
    from mlflow import MlflowClient

    uri = local_tracking_uri(workbench.settings.home)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_a_tiny_lora_run_registers_a_model_with_its_evaluation_and_lineage(workbench, runner):
    labeled = labeled_training_sheet(workbench)
    given = training_input(workbench, labeled)
    run = start_training(workbench, given, TINY_CONFIG)
    assert run.status is RunStatus.QUEUED and run.train_pair_count == 4 and run.val_pair_count == 2

    job = runner.wait(run.job_id, TRAINING_WAIT_S)
    assert job.status is JobStatus.SUCCEEDED, job.error
    service = TrainingService(workbench)
    done = service.get(run.id)
    assert done.status is RunStatus.SUCCEEDED
    assert done.model_name == "invoices_invoice_classification_manual_lora" or done.model_name.endswith("_lora")
    assert done.model_version == "1" and done.model_id == f"{done.model_name}/1"
    assert done.eval_pair_count == 2

    row = workbench.backend.engine.query_one(
        f"SELECT train_pair_ids, val_pair_ids, qa_pair_ids, eval_pair_ids, training_sheet_ids, export_id, "
        f"training_sheet_version, mlflow_run_id, job_id, training_config FROM {workbench.table('model_training_lineage')} WHERE id = :id",
        {"id": run.id},
    )
    assert list(row["train_pair_ids"]) == list(given.train_pair_ids)
    assert list(row["val_pair_ids"]) == list(given.validation_pair_ids)
    assert list(row["qa_pair_ids"]) == [*given.train_pair_ids, *given.validation_pair_ids]
    trained = set(row["qa_pair_ids"])
    assert len(row["eval_pair_ids"]) == 2 and not trained & set(row["eval_pair_ids"])  # evaluated on held-out pairs only
    assert list(row["training_sheet_ids"]) == [labeled.training_sheet.id]
    assert (row["export_id"], row["training_sheet_version"], row["job_id"]) == ("export-test-1", "1", run.job_id)
    assert json.loads(row["training_config"])["max_steps"] == 2

    assert [p.step for p in service.loss_curve(run.id)] == [1, 2]
    evaluations = {r["evaluated_model"]: r for r in service.evaluation_rows(run.id)}
    assert set(evaluations) == {"base", "fine_tuned"}
    assert evaluations["fine_tuned"]["model_id"] == done.model_id
    assert evaluations["base"]["evaluation_pair_count"] == 2
    assert len(json.loads(evaluations["fine_tuned"]["answers"])) == 2

    client = _mlflow(workbench)
    version = client.get_model_version_by_alias(done.model_name, "candidate")
    assert str(version.version) == "1" and version.run_id == done.mlflow_run_id
    tracked = client.get_run(done.mlflow_run_id)
    assert tracked.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(done.mlflow_run_id, "train_loss")] == [1, 2]
    assert {"fine_tuned_accuracy", "base_accuracy", "validation_loss"} <= set(tracked.data.metrics)
    assert {d.dataset.name: d.tags[0].value for d in tracked.inputs.dataset_inputs} == {
        "train": "training", "validation": "validation", "evaluation": "evaluation"
    }
    assert {a.path for a in client.list_artifacts(done.mlflow_run_id, "datasets")} == {
        "datasets/train.jsonl", "datasets/validation.jsonl", "datasets/evaluation.jsonl"
    }
    assert service.mlflow_url(done) == f"http://127.0.0.1:5000/#/experiments/{done.mlflow_experiment_id}/runs/{done.mlflow_run_id}"

    # The registered version is a model that loads and answers on its own (what DEPLOY serves).
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model(version.source)
    messages = [{"role": "system", "content": "You triage medical invoices."}, {"role": "user", "content": "Invoice INV-0042 for 420.00."}]
    (answer,) = model.predict(pd.DataFrame({"messages": [messages]}), params={"max_new_tokens": 4})
    assert isinstance(answer, str) and answer


def test_cancelling_a_run_mid_training_registers_nothing_and_marks_its_lineage_cancelled(workbench, runner):
    labeled = labeled_training_sheet(workbench)
    run = start_training(workbench, training_input(workbench, labeled), replace(TINY_CONFIG, epochs=20, max_steps=0))  # 40 steps
    service = TrainingService(workbench)
    eventually(lambda: service.loss_curve(run.id), lambda steps: len(steps) >= 1, timeout_s=TRAINING_WAIT_S)
    service.cancel(run.id)

    job = runner.wait(run.job_id, TRAINING_WAIT_S)
    assert job.status is JobStatus.CANCELLED
    cancelled = service.get(run.id)
    assert cancelled.status is RunStatus.CANCELLED
    assert cancelled.model_name is None and cancelled.model_version is None
    assert "Stopped after" in (cancelled.error or "")
    assert len(service.loss_curve(run.id)) < 40
    assert service.evaluation_rows(run.id) == []
    client = _mlflow(workbench)
    assert client.search_registered_models() == []
    assert client.get_run(cancelled.mlflow_run_id).info.status == "KILLED"


def test_a_run_refuses_an_export_whose_file_is_gone(workbench):
    labeled = labeled_training_sheet(workbench)
    given = replace(training_input(workbench, labeled), train_jsonl="/Volumes/mirion_vital/workbench/files/exports/gone.jsonl")
    with pytest.raises(ValidationError, match="does not exist"):
        start_training(workbench, given, TINY_CONFIG)
    assert TrainingService(workbench).recent() == []
