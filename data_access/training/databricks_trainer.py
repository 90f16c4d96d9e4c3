"""The same trainer (lora_job.py) submitted as a one-time Databricks job on serverless GPU compute.

The script, its config and the model-from-code file go to the run's folder on a Unity Catalog
volume beside the exported JSONL; `jobs.submit` runs it as a Python script task with a GPU
accelerator and a serverless environment that installs the pinned trainer stack. The job
reads and writes the volume through its /Volumes mount, rewrites `progress.json` after every
step and writes `result.json` at the end; this side polls the run's state and that file, and
cancels the run when asked. The job logs the loss, the dataset files and the model into the
MLflow run the app made (tracking in the workspace); registering it is left to the app, after
evaluation. The Foundation Model fine-tuning API is end-of-life and is not used.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_access.training import lora_job
from data_access.training.trainer import Cancelled, JobResult, Progress, Trainer, TrainingFailed, TrainingSpec
from data_access.volumes import VolumeFileError, VolumeFiles

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

DEFAULT_BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the same model, from the Hub, in full precision
DEFAULT_ACCELERATOR = "GPU_1xA10"  # one A10 fits a 135M-1B LoRA comfortably; bigger models want H100
# Serverless GPU environment 4 brings Python 3.12 with a CUDA build of torch; the rest is pinned
# to the versions the laptop trainer is tested with, read from the files `make install` installs.
ENVIRONMENT_VERSION = "4"
_ROOT = Path(__file__).resolve().parents[2]
TRAIN_REQUIREMENTS = _ROOT / "requirements-train.txt"
APP_REQUIREMENTS = _ROOT / "requirements.txt"
LAPTOP_ONLY = "laptop only"  # a line of requirements-train.txt the job's environment leaves out
ALSO_FROM_THE_APP = ("mlflow",)  # the job logs into the MLflow run the app made
POLL_INTERVAL_S = 5.0  # a GPU step takes well under a second; the page refreshes once a second anyway
RUN_TIMEOUT_S = 6 * 3600  # Databricks stops a run past this; a LoRA of a small model takes minutes
# Read as a file, never imported here: importing it loads mlflow and registers its model.
CHAT_MODEL_FILE = Path(__file__).with_name("chat_model.py")
_TASK_KEY = "train"
_ENVIRONMENT_KEY = "trainer"
_WAITING = {"PENDING", "QUEUED", "BLOCKED", "WAITING"}


def _pins(path: Path) -> list[tuple[str, str]]:
    """(requirement, its comment) for each requirement line of a pip requirements file."""
    pins = []
    for line in path.read_text().splitlines():
        requirement, _, comment = line.partition("#")
        if requirement.strip() and not requirement.lstrip().startswith("-"):
            pins.append((requirement.strip(), comment.strip()))
    return pins


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~\[; ]", requirement, maxsplit=1)[0].lower()


def job_dependencies(train: Path = TRAIN_REQUIREMENTS, app: Path = APP_REQUIREMENTS) -> list[str]:
    """The job environment's pins: requirements-train.txt but its `laptop only` lines, and the
    app's own pins of what the job also uses (mlflow), so neither list is kept twice."""
    try:
        trainer = [pin for pin, comment in _pins(train) if not comment.startswith(LAPTOP_ONLY)]
        shared = [pin for pin, _ in _pins(app) if _name(pin) in ALSO_FROM_THE_APP]
    except OSError as error:
        raise TrainingFailed(f"The training job's dependencies could not be read from {train.name} and {app.name}: {error}") from error
    missing = set(ALSO_FROM_THE_APP) - {_name(pin) for pin in shared}
    if missing:
        raise TrainingFailed(f"{app.name} pins no {', '.join(sorted(missing))}, which the training job needs.")
    return [*trainer, *shared]


class DatabricksJobTrainer(Trainer):
    logs_to_tracking_run = True

    def __init__(
        self, client: WorkspaceClient, files: VolumeFiles, *, base_model: str = DEFAULT_BASE_MODEL,
        accelerator: str = DEFAULT_ACCELERATOR, poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._client = client
        self._files = files
        self._base_model = base_model
        self._accelerator = accelerator
        self._poll_s = poll_interval_s

    @property
    def base_model(self) -> str:
        return self._base_model

    def describe(self) -> str:
        return f"LoRA on {self._base_model} as a Databricks job on serverless GPU ({self._accelerator})"

    def train(self, spec: TrainingSpec, on_progress: Callable[[Progress], None], should_stop: Callable[[], bool]) -> JobResult:
        from databricks.sdk.errors import DatabricksError

        try:
            run_id = self._submit(spec)
            on_progress(Progress("submitted", detail=str(run_id)))
            return self._follow(run_id, spec, on_progress, should_stop)
        except (DatabricksError, VolumeFileError) as error:
            raise TrainingFailed(f"The Databricks training job could not run: {error}") from error

    # -- submitting ------------------------------------------------------------------------
    def _submit(self, spec: TrainingSpec) -> int:
        from databricks.sdk.service.compute import Environment, HardwareAcceleratorType
        from databricks.sdk.service.jobs import Compute, JobEnvironment, SparkPythonTask, SubmitTask

        script = self._upload(spec.output_dir, "lora_job.py", Path(lora_job.__file__).read_bytes())
        model_code = self._upload(spec.output_dir, "chat_model.py", CHAT_MODEL_FILE.read_bytes())
        config = self._upload(spec.output_dir, "config.json", json.dumps(self._config(spec, model_code), indent=1).encode())
        waiter = self._client.jobs.submit(
            run_name=f"vital-workbench training {spec.attempt_id[:8]}",
            idempotency_token=spec.attempt_id,
            timeout_seconds=RUN_TIMEOUT_S,
            environments=[JobEnvironment(_ENVIRONMENT_KEY, Environment(environment_version=ENVIRONMENT_VERSION, dependencies=job_dependencies()))],
            tasks=[
                SubmitTask(
                    task_key=_TASK_KEY,
                    spark_python_task=SparkPythonTask(python_file=script, parameters=["--config", config]),
                    environment_key=_ENVIRONMENT_KEY,
                    compute=Compute(hardware_accelerator=HardwareAcceleratorType(self._accelerator)),
                )
            ],
        )
        return int(waiter.response.run_id)

    def _upload(self, folder: str, name: str, data: bytes) -> str:
        path = f"{folder.rstrip('/')}/{name}"
        self._files.write_bytes(path, data)
        return path

    def _config(self, spec: TrainingSpec, model_code: str) -> dict[str, Any]:
        files = lora_job.JobFiles(self._base_model, spec.train_jsonl, spec.output_dir, spec.validation_jsonl, spec.evaluation_jsonl)
        return {
            "files": asdict(files),
            "hyperparameters": asdict(spec.hyperparameters),
            "mlflow": {"run_id": spec.tracking_run_id, "model_code": model_code} if spec.tracking_run_id else {},
        }

    # -- following -------------------------------------------------------------------------
    def _follow(self, run_id: int, spec: TrainingSpec, on_progress: Callable[[Progress], None], should_stop: Callable[[], bool]) -> JobResult:
        relayed = 0
        while True:
            run = self._client.jobs.get_run(run_id)
            state = run.state
            life_cycle = state.life_cycle_state.value if state and state.life_cycle_state else "PENDING"
            if life_cycle in _WAITING:
                on_progress(Progress("submitted", detail=f"{run_id} · {life_cycle.lower()}"))
            else:
                relayed = self._relay(spec.output_dir, relayed, on_progress)
            if life_cycle not in _WAITING and life_cycle not in ("RUNNING", "TERMINATING"):
                return self._outcome(run_id, life_cycle, state, spec.output_dir)
            if should_stop():
                self._client.jobs.cancel_run(run_id)
                raise Cancelled(f"Cancelled the Databricks run {run_id} after {relayed} steps.")
            time.sleep(self._poll_s)

    def _relay(self, folder: str, relayed: int, on_progress: Callable[[Progress], None]) -> int:
        """Report the steps the job wrote since the last poll; returns how many have been reported."""
        payload = self._read_json(f"{folder.rstrip('/')}/progress.json")
        if payload is None:
            return relayed
        total = int(payload.get("progress", {}).get("total") or 0)
        losses = payload.get("losses") or []
        for entry in losses[relayed:]:
            on_progress(Progress("training", int(entry["step"]), total, float(entry["loss"]), int(entry.get("tokens", 0)), float(entry.get("elapsed_s", 0.0))))
        phase = payload.get("progress", {})
        if phase.get("phase") == "evaluating":
            on_progress(Progress("evaluating", int(phase.get("done", 0)), int(phase.get("total", 0))))
        return max(relayed, len(losses))

    def _outcome(self, run_id: int, life_cycle: str, state: Any, folder: str) -> JobResult:
        result_state = state.result_state.value if state and state.result_state else ""
        written = self._read_json(f"{folder.rstrip('/')}/result.json") or {}
        if life_cycle == "TERMINATED" and result_state == "SUCCESS" and written.get("status") == "succeeded":
            return JobResult(**written["result"])
        if result_state == "CANCELED":
            raise Cancelled(f"The Databricks run {run_id} was cancelled: {state.state_message or 'no reason given'}.")
        if result_state == "SUCCESS":
            raise TrainingFailed(f"The Databricks run {run_id} finished without writing {folder}/result.json.")
        reason = written.get("error") or (state.state_message if state else "") or "no reason given"
        raise TrainingFailed(f"The Databricks run {run_id} ended {result_state or life_cycle}: {reason}")

    def _read_json(self, path: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._files.read_bytes(path))
        except VolumeFileError:
            return None
        except ValueError:  # a file caught mid-write: the next poll reads it whole
            return None
