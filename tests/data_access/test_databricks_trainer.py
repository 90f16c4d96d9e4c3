"""The Databricks trainer through the real databricks-sdk (Jobs and Files APIs) against the loopback
REST fake. The fake plays the remote compute: it reads the uploaded config, writes progress and
the result onto the volume the way lora_job.py does through /Volumes, and moves the run along."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import asdict

import pytest

from data_access.training.databricks_trainer import DatabricksJobTrainer, job_dependencies
from data_access.training.lora_job import JobResult
from data_access.training.trainer import Cancelled, Hyperparameters, Progress, TrainingFailed, TrainingSpec
from data_access.volumes_databricks import DatabricksVolumeFiles
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.job_works import eventually

FOLDER = "/Volumes/mirion_vital/workbench/files/training/run-1"
TRAIN = "/Volumes/mirion_vital/workbench/files/exports/v1/train.jsonl"
SPEC = TrainingSpec(
    attempt_id="attempt-0001", train_jsonl=TRAIN, output_dir=f"{FOLDER}/output", hyperparameters=Hyperparameters(max_steps=2),
    evaluation_jsonl=f"{FOLDER}/evaluation.jsonl", tracking_run_id="mlflow-run-7",
)
FAST_POLL_S = 0.02


@pytest.fixture
def rest() -> Iterator[FakeDatabricksRest]:
    with FakeDatabricksRest() as rest:
        rest.add_volume("mirion_vital.workbench.files")
        yield rest


@pytest.fixture
def trainer(rest) -> DatabricksJobTrainer:
    return DatabricksJobTrainer(rest.client(), DatabricksVolumeFiles(rest.client()), poll_interval_s=FAST_POLL_S)


def _remote_success(rest: FakeDatabricksRest, run_id: int, request: dict) -> None:
    """What lora_job.main does on the cluster, reduced to its files and state changes."""
    config = json.loads(rest.file_text(request["tasks"][0]["spark_python_task"]["parameters"][1]))
    output = config["files"]["output_dir"]
    rest.set_run_state(run_id, "RUNNING")
    losses = [{"step": 1, "loss": 2.5, "tokens": 90, "elapsed_s": 0.4}, {"step": 2, "loss": 1.1, "tokens": 180, "elapsed_s": 0.8}]
    rest.put_file(f"{output}/progress.json", json.dumps({"progress": {"phase": "training", "done": 2, "total": 2}, "losses": losses}).encode())
    result = JobResult(steps=2, total_steps=2, losses=[2.5, 1.1], train_pairs=4, train_tokens=180, base_answers=["a"],
                       tuned_answers=["b"], merged_dir=f"{output}/merged", device="cuda", model_uri="runs:/mlflow-run-7/model")
    rest.put_file(f"{output}/result.json", json.dumps({"status": "succeeded", "result": asdict(result)}).encode())
    rest.set_run_state(run_id, "TERMINATED", "SUCCESS", "")


def test_a_run_is_submitted_as_a_python_script_on_serverless_gpu_and_its_steps_and_result_come_back(rest, trainer):
    rest.on_run_submitted = _remote_success
    progress: list[Progress] = []
    result = trainer.train(SPEC, progress.append, lambda: False)

    assert (result.steps, result.losses, result.model_uri, result.device) == (2, [2.5, 1.1], "runs:/mlflow-run-7/model", "cuda")
    assert [(p.done, p.loss) for p in progress if p.phase == "training"] == [(1, 2.5), (2, 1.1)]  # each step once
    assert progress[0].phase == "submitted" and progress[0].detail == "1"

    (run,) = rest.job_runs.values()
    request = run["request"]
    (task,) = request["tasks"]
    assert task["spark_python_task"] == {"python_file": f"{FOLDER}/output/lora_job.py", "parameters": ["--config", f"{FOLDER}/output/config.json"]}
    assert task["compute"] == {"hardware_accelerator": "GPU_1xA10"}
    (environment,) = request["environments"]
    assert environment["environment_key"] == task["environment_key"]
    assert environment["spec"]["dependencies"] == ["transformers==5.24.0", "peft==0.21.2", "accelerate==1.15.0", "safetensors==0.8.0", "mlflow==3.17.2"]
    assert request["idempotency_token"] == "attempt-0001"
    script = rest.file_text(f"{FOLDER}/output/lora_job.py")
    assert script is not None and "def main(" in script and "import services" not in script
    assert "set_model(ChatModel())" in (rest.file_text(f"{FOLDER}/output/chat_model.py") or "")
    config = json.loads(rest.file_text(f"{FOLDER}/output/config.json"))
    assert config["files"]["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert config["files"]["train_jsonl"] == TRAIN and config["hyperparameters"]["max_steps"] == 2
    assert config["mlflow"] == {"run_id": "mlflow-run-7", "model_code": f"{FOLDER}/output/chat_model.py"}


def test_a_failed_run_reports_the_error_the_job_wrote(rest, trainer):
    def fail(rest, run_id, request):
        output = json.loads(rest.file_text(request["tasks"][0]["spark_python_task"]["parameters"][1]))["files"]["output_dir"]
        rest.set_run_state(run_id, "RUNNING")
        rest.put_file(f"{output}/result.json", json.dumps({"status": "failed", "error": "ValueError: line 3 is not a chat example"}).encode())
        rest.set_run_state(run_id, "TERMINATED", "FAILED", "Task train failed with message: Workload failed.")

    rest.on_run_submitted = fail
    with pytest.raises(TrainingFailed, match="ended FAILED: ValueError: line 3 is not a chat example"):
        trainer.train(SPEC, lambda _: None, lambda: False)


def test_a_run_whose_script_never_started_fails_with_the_reason_databricks_gives(rest, trainer, monkeypatch):
    original = DatabricksJobTrainer._upload

    def upload_all_but_the_script(self, folder, name, data):
        path = original(self, folder, name, data)
        if name == "lora_job.py":
            rest.files.pop(path)
        return path

    monkeypatch.setattr(DatabricksJobTrainer, "_upload", upload_all_but_the_script)
    with pytest.raises(TrainingFailed, match=r"lora_job\.py does not exist"):
        trainer.train(SPEC, lambda _: None, lambda: False)


def test_cancelling_cancels_the_databricks_run(rest, trainer):
    started = threading.Event()

    def run_forever(rest, run_id, request):
        rest.set_run_state(run_id, "RUNNING")
        started.set()

    rest.on_run_submitted = run_forever
    stop = threading.Event()
    outcome: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(outcome, lambda: trainer.train(SPEC, lambda _: None, stop.is_set)))
    worker.start()
    assert started.wait(10)
    stop.set()
    worker.join(10)
    (error,) = outcome
    assert isinstance(error, Cancelled)
    eventually(lambda: rest.job_runs[1]["state"], lambda state: state.get("result_state") == "CANCELED")
    assert rest.requests_for("/jobs/runs/cancel")


def test_a_run_cancelled_in_databricks_ends_as_cancelled_here(rest, trainer):
    rest.on_run_submitted = lambda rest, run_id, request: rest.set_run_state(run_id, "TERMINATED", "CANCELED", "Cancelled by ada@example.com")
    with pytest.raises(Cancelled, match=r"Cancelled by ada@example\.com"):
        trainer.train(SPEC, lambda _: None, lambda: False)


def _capture(outcome: list[BaseException], action) -> None:
    try:
        action()
    except BaseException as error:
        outcome.append(error)


def test_the_jobs_environment_takes_its_pins_from_requirements_train_but_the_laptop_only_lines(tmp_path):
    train, app = tmp_path / "requirements-train.txt", tmp_path / "requirements.txt"
    train.write_text("# the trainer\ntorch==2.13.0  # laptop only: CUDA there\ntransformers==9.9.9\n-c constraints.txt\ngguf==1.0  # laptop only\n")
    app.write_text("streamlit==1.0\nmlflow[databricks]==4.0.1  # tracking\n")

    assert job_dependencies(train, app) == ["transformers==9.9.9", "mlflow[databricks]==4.0.1"]
    app.write_text("streamlit==1.0\n")
    with pytest.raises(TrainingFailed, match="pins no mlflow"):
        job_dependencies(train, app)
    with pytest.raises(TrainingFailed, match="could not be read"):
        job_dependencies(tmp_path / "missing.txt", app)
