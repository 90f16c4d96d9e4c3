"""TRAIN: fine-tune a model on an export, evaluate it beside its base, register it, record its lineage.

A run is a row of `model_training_lineage` (written when it starts, with the exact train and
validation pair ids, the config and the files) and a job that trains through the backend's
trainer (LoRA in this process on a laptop, a Databricks job on Databricks), tracked in MLflow:
parameters, the loss per step, the train/validation/evaluation sets as dataset inputs with
their digests, evaluation metrics and the model. The model version is registered last, once
everything else succeeded, and the lineage row names it in the same step; a failed or
cancelled run ends with its row saying so and nothing registered.

Resuming (the job runner's contract: run the same params again without duplicates) trains the
run again from the start under the same lineage row: its earlier steps and evaluations are
cleared first and the earlier MLflow run is ended as killed; checkpoints are not kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from data_access.tracking.factory import experiment_name, open_tracker
from data_access.tracking.tracker import DatasetRecord, ExperimentTracker, RunEnd, TrackedRun, TrackingError
from data_access.training.factory import open_trainer
from data_access.training.trainer import (
    Cancelled,
    Hyperparameters,
    JobResult,
    Progress,
    Trainer,
    TrainingFailed,
    TrainingSpec,
)
from data_access.volumes import VolumeFileError
from services.core.domain.job import JobStatus
from services.core.errors import NotFoundError, ValidationError, WorkbenchError
from services.core.jobs import JobContext, JobRunner, new_job_id, register_job_type
from services.core.workbench import Workbench
from services.generate.generation import GenerationService
from services.train.evaluation import AnswerScore, Comparison, FieldScore, ModelScore, compare
from services.train.evaluation_set import EvaluationPair, evaluation_pairs
from services.train.records import (
    EvaluationSource,
    LossPoint,
    RunProgress,
    RunStatus,
    TrainingConfig,
    TrainingInput,
    TrainingRun,
    model_name_from,
)
from services.train.runs_store import TrainingRunsStore

log = logging.getLogger(__name__)

JOB_TYPE = "train_model"
RECENT_RUNS = 20
DIGEST_CHARS = 16
MAX_DIGEST_BYTES = 2 * 1024**3  # an export this large would be read whole just to hash it; beyond, refuse
_PHASES = {
    "submitted": RunStatus.SUBMITTED, "loading": RunStatus.LOADING,
    "training": RunStatus.TRAINING, "evaluating": RunStatus.EVALUATING, "saving": RunStatus.REGISTERING,
}


def training_folder(workbench: Workbench, run_id: str) -> str:
    """Where a run's files go: the app's volume (WORKBENCH_VOLUME), locally its mirror."""
    settings = workbench.settings
    root = settings.volume.rstrip("/") or f"/Volumes/{settings.catalog}/{settings.schema}/files"
    return f"{root}/training/{run_id}"


def start_training(workbench: Workbench, training_input: TrainingInput, config: TrainingConfig) -> TrainingRun:
    """Record the run and start it as a job; returns the run as recorded (queued)."""
    training_input, config = training_input.checked(), config.checked()
    files = workbench.backend.files
    for path in filter(None, (training_input.train_jsonl, training_input.validation_jsonl)):
        if not files.exists(path):
            raise ValidationError(f"{path} does not exist: export the Training Sheet again.", "train_jsonl")
    trainer = open_trainer(workbench.backend)
    if config.base_model and config.base_model != trainer.base_model:
        raise ValidationError(f"Here the base model is {trainer.base_model}; {config.base_model} cannot be fine-tuned by this app.", "base_model")
    first_sheet = GenerationService(workbench).get(training_input.training_sheet_ids[0])
    name = config.model_name or model_name_from(first_sheet.name)
    run = TrainingRun(
        id=str(uuid.uuid4()), status=RunStatus.QUEUED, job_id=new_job_id(), training_sheet_ids=training_input.training_sheet_ids,
        export_id=training_input.export_id,
        export_version=str(training_input.export_version) if training_input.export_version is not None else None,
        base_model=trainer.base_model, config=_recorded_config(training_input, config, name, trainer),
        train_pair_count=len(training_input.train_pair_ids), val_pair_count=len(training_input.validation_pair_ids),
        created_by=workbench.user.email,
    )
    store = TrainingRunsStore(workbench)
    store.insert(run, training_input.train_pair_ids, training_input.validation_pair_ids)
    try:
        JobRunner(workbench).submit(
            JOB_TYPE, {"run_id": run.id}, training_sheet_id=run.training_sheet_ids[0], target_id=run.id, job_id=run.job_id
        )
    except Exception as error:
        store.finish(run.id, RunStatus.FAILED, f"The training job could not start: {error}")
        raise
    return TrainingService(workbench).get(run.id)


def _recorded_config(training_input: TrainingInput, config: TrainingConfig, name: str, trainer: Trainer) -> dict[str, Any]:
    """Everything a resume needs and the lineage shows: hyperparameters, files, evaluation source."""
    return {
        **config.as_json(), "model_name": name, "base_model": trainer.base_model, "trainer": trainer.describe(),
        "train_jsonl": training_input.train_jsonl, "validation_jsonl": training_input.validation_jsonl,
        "train_digest": training_input.train_digest, "validation_digest": training_input.validation_digest,
        "evaluation": asdict(training_input.evaluation),
    }


def _evaluation_source(config: dict[str, Any]) -> EvaluationSource:
    recorded = config["evaluation"]
    return EvaluationSource(tuple(recorded["training_sheet_ids"]), int(recorded["max_pairs"]), int(recorded["seed"]))


def _hyperparameters(config: dict[str, Any]) -> Hyperparameters:
    fields = Hyperparameters.__dataclass_fields__
    return Hyperparameters(**{k: v for k, v in config.items() if k in fields})


@dataclass
class _Tracking:
    tracker: ExperimentTracker
    run: TrackedRun | None = None

    def end(self, end: RunEnd) -> None:
        if self.run is None:
            return
        try:
            self.tracker.end_run(self.run.run_id, end)
        except Exception:  # the run's outcome is recorded in the lineage either way
            log.warning("Could not end MLflow run %s as %s", self.run.run_id, end, exc_info=True)


class TrainingWork:
    """The job: one attempt at a run, from the export's files to a registered model."""

    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        self._wb = workbench
        self._store = TrainingRunsStore(workbench)
        run = self._store.get(str(params.get("run_id", "")))
        if run is None:
            raise ValidationError("That training run no longer exists.", "run_id")
        self._run = run

    def run(self, context: JobContext) -> dict[str, Any]:
        run, store = self._run, self._store
        tracking = _Tracking(open_tracker(self._wb.settings))
        if run.mlflow_run_id:  # an earlier attempt's MLflow run, left running by a crash
            _Tracking(tracking.tracker, TrackedRun(run.mlflow_experiment_id or "", run.mlflow_run_id)).end(RunEnd.KILLED)
        store.restart(run.id)
        attempt = _Attempt(self._wb, store, run, tracking, context)
        try:
            return attempt.run()
        except Cancelled as stopped:
            store.finish(run.id, RunStatus.CANCELLED, str(stopped), attempt.metrics)
            tracking.end(RunEnd.KILLED)
            if context.saw_cancel:
                return {"status": "cancelled", "steps": attempt.steps_done}
            raise WorkbenchError(f"The training was cancelled outside the app: {stopped}") from stopped
        except (TrainingFailed, TrackingError, VolumeFileError, WorkbenchError) as error:
            store.finish(run.id, RunStatus.FAILED, str(error), attempt.metrics)
            tracking.end(RunEnd.FAILED)
            raise WorkbenchError(str(error)) from error
        except Exception as error:
            store.finish(run.id, RunStatus.FAILED, f"{type(error).__name__}: {error}", attempt.metrics)
            tracking.end(RunEnd.FAILED)
            raise


class _Attempt:
    def __init__(self, workbench: Workbench, store: TrainingRunsStore, run: TrainingRun, tracking: _Tracking, context: JobContext) -> None:
        self._wb = workbench
        self._store = store
        self._run = run
        self._tracking = tracking
        self._context = context
        self._trainer = open_trainer(workbench.backend)
        self._phase: RunStatus | None = None
        self._total_steps = 0
        self._eval_count = 0
        self.steps_done = 0
        self.metrics: dict[str, Any] = {}

    @property
    def _tracker(self) -> ExperimentTracker:
        return self._tracking.tracker

    def run(self) -> dict[str, Any]:
        run, config = self._run, self._run.config
        folder = training_folder(self._wb, run.id)
        pairs = evaluation_pairs(self._wb, run.id, _evaluation_source(config))
        self._eval_count = len(pairs)
        evaluation_jsonl = self._write_evaluation_set(folder, pairs)
        tracked = self._start_tracking(pairs, evaluation_jsonl)
        spec = TrainingSpec(
            attempt_id=str(uuid.uuid4()), train_jsonl=config["train_jsonl"], output_dir=f"{folder}/output",
            hyperparameters=_hyperparameters(config), validation_jsonl=config.get("validation_jsonl"),
            evaluation_jsonl=evaluation_jsonl, tracking_run_id=tracked.run_id,
        )
        result = self._trainer.train(spec, self._on_progress, self._context.cancelled)
        if self._context.cancelled():
            raise Cancelled(f"Cancelled after {result.steps} of {result.total_steps} steps, before registering.")
        comparison = compare([p.item for p in pairs], result.base_answers, result.tuned_answers) if pairs else None
        self.metrics = _metrics(result, comparison)
        self._tracker.log_metrics(tracked.run_id, {k: v for k, v in self.metrics.items() if isinstance(v, int | float)})
        return self._register(tracked, result, comparison)

    # -- before training -------------------------------------------------------------------
    def _write_evaluation_set(self, folder: str, pairs: list[EvaluationPair]) -> str | None:
        if not pairs:
            return None
        path = f"{folder}/evaluation.jsonl"
        self._wb.backend.files.write_bytes(path, ("\n".join(p.jsonl_line() for p in pairs) + "\n").encode())
        return path

    def _start_tracking(self, pairs: list[EvaluationPair], evaluation_jsonl: str | None) -> TrackedRun:
        run, config = self._run, self._run.config
        tags = {
            "workbench.lineage_id": run.id, "workbench.export_id": run.export_id or "",
            "workbench.training_sheet_ids": ",".join(run.training_sheet_ids), "mlflow.source.name": "VITAL Workbench",
        }
        tracked = self._tracker.start_run(experiment_name(self._wb.settings), f"{config['model_name']} · {run.id[:8]}", tags)
        self._tracking.run = tracked
        self._store.set_tracking(run.id, tracked.experiment_id, tracked.run_id, [p.pair_id for p in pairs])
        params = {k: v for k, v in config.items() if k not in ("evaluation",)}
        params |= {"train_pairs": run.train_pair_count, "validation_pairs": run.val_pair_count, "evaluation_pairs": len(pairs),
                   "export_id": run.export_id, "export_version": run.export_version, "training_sheet_ids": list(run.training_sheet_ids)}
        self._tracker.log_params(tracked.run_id, params)
        datasets = [self._dataset("train", "training", config["train_jsonl"], run.train_pair_count, config.get("train_digest"))]
        if config.get("validation_jsonl"):
            datasets.append(self._dataset("validation", "validation", config["validation_jsonl"], run.val_pair_count, config.get("validation_digest")))
        if evaluation_jsonl:
            datasets.append(self._dataset("evaluation", "evaluation", evaluation_jsonl, len(pairs), None))
        self._tracker.log_datasets(tracked.run_id, datasets)
        return tracked

    def _dataset(self, name: str, context: str, path: str, rows: int, digest: str | None) -> DatasetRecord:
        if not digest:
            digest = hashlib.sha256(self._wb.backend.files.read_bytes(path, MAX_DIGEST_BYTES)).hexdigest()
        local = None if self._trainer.logs_to_tracking_run else self._trainer.local_file(path)
        # MLflow keeps a dataset digest of at most 36 characters: the first 16 of the SHA-256 tell exports apart.
        return DatasetRecord(name, context, path, digest[:DIGEST_CHARS], rows, local)

    # -- while training --------------------------------------------------------------------
    def _on_progress(self, progress: Progress) -> None:
        status = _PHASES.get(progress.phase)
        if status is not None and status is not self._phase:
            self._phase = status
            self._store.set_status(self._run.id, status)
        if progress.phase == "submitted" and progress.detail:
            self._store.set_databricks_run(self._run.id, progress.detail.split(" ")[0])
        elif progress.phase == "training" and progress.loss is not None:
            self._total_steps, self.steps_done = progress.total, progress.done
            self._store.record_step(self._run.id, LossPoint(progress.done, progress.total, progress.loss, progress.tokens, progress.elapsed_s))
            if not self._trainer.logs_to_tracking_run and self._tracking.run is not None:
                self._tracker.log_step(self._tracking.run.run_id, "train_loss", progress.loss, progress.done)
            self._context.report(progress.done, progress.total + 2 * self._eval_count)
        elif progress.phase == "evaluating":
            self._context.report(self._total_steps + progress.done, self._total_steps + progress.total)

    # -- after training --------------------------------------------------------------------
    def _register(self, tracked: TrackedRun, result: JobResult, comparison: Comparison | None) -> dict[str, Any]:
        run, config = self._run, self._run.config
        self._store.set_status(run.id, RunStatus.REGISTERING)
        source = result.model_uri or self._tracker.log_model(tracked.run_id, Path(result.merged_dir), int(config["max_new_tokens"]))
        self._trainer.discard_merged(result)
        if self._context.cancelled():
            raise Cancelled(f"Cancelled after {result.steps} of {result.total_steps} steps, before registering.")
        name = f"{self._tracker.registry_name_prefix}{config['model_name']}"
        tags = {"workbench.lineage_id": run.id, "better_than_base": str(comparison.improved).lower() if comparison else "not evaluated"}
        version = self._tracker.register(tracked.run_id, source, name, config["alias"], tags)
        try:
            self._store.succeed(_with_tracking(run, tracked), version.name, version.version, self.metrics, comparison)
        except Exception:
            self._tracker.delete_version(version.name, version.version)  # no model without its lineage
            raise
        self._tracking.end(RunEnd.FINISHED)
        self._context.report(self._total_steps + 2 * self._eval_count, self._total_steps + 2 * self._eval_count)
        return {"status": "succeeded", "model": f"{version.name}/{version.version}", "alias": version.alias,
                "steps": result.steps, "verdict": comparison.verdict if comparison else "No pair may be used for evaluation."}


def _with_tracking(run: TrainingRun, tracked: TrackedRun) -> TrainingRun:
    return replace(run, mlflow_run_id=tracked.run_id, mlflow_experiment_id=tracked.experiment_id)


def _metrics(result: JobResult, comparison: Comparison | None) -> dict[str, Any]:
    seconds = result.train_seconds or 0.0
    metrics: dict[str, Any] = {
        "steps": result.steps, "train_pairs": result.train_pairs, "train_tokens": result.train_tokens,
        "train_seconds": round(seconds, 2), "steps_per_s": result.steps / seconds if seconds else 0.0,
        "tokens_per_s": result.train_tokens / seconds if seconds else 0.0, "truncated_pairs": result.truncated_pairs,
        "first_loss": result.losses[0] if result.losses else None, "final_loss": result.losses[-1] if result.losses else None,
        "validation_loss": result.validation_loss, "device": result.device,
    }
    if comparison is not None:
        metrics |= comparison.base.metrics("base") | comparison.fine_tuned.metrics("fine_tuned")
        metrics["better_than_base"] = comparison.improved
        metrics["verdict"] = comparison.verdict
    return {k: v for k, v in metrics.items() if v is not None}


def _model_score(row: dict[str, Any]) -> ModelScore:
    return ModelScore(
        row["evaluated_model"], float(row["accuracy"] or 0), float(row["f1_score"] or 0), float(row["valid_output_rate"] or 0),
        tuple(FieldScore(**f) for f in json.loads(row["field_metrics"] or "[]")),
        tuple(AnswerScore(**a) for a in json.loads(row["answers"] or "[]")),
    )


register_job_type(JOB_TYPE, TrainingWork)


class TrainingService:
    """What the TRAIN page reads and asks: runs, their loss curves and evaluations, cancel, resume."""

    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._store = TrainingRunsStore(workbench)

    def get(self, run_id: str) -> TrainingRun:
        run = self._store.get(run_id)
        if run is None:
            raise NotFoundError("That training run does not exist.")
        return self._reconciled(run)

    def recent(self, limit: int = RECENT_RUNS) -> list[TrainingRun]:
        return [self._reconciled(r) for r in self._store.recent(limit)]

    def _reconciled(self, run: TrainingRun) -> TrainingRun:
        """A run whose job ended without finishing it (the app stopped mid-run) says so in its row."""
        if run.is_finished or not run.job_id:
            return run
        try:
            job = JobRunner(self._wb).get(run.job_id)
        except NotFoundError:
            return run
        if not job.is_finished:
            return run
        status = {JobStatus.INTERRUPTED: RunStatus.INTERRUPTED, JobStatus.CANCELLED: RunStatus.CANCELLED}.get(job.status, RunStatus.FAILED)
        message = job.error or "The app stopped while this run was training; Resume trains it again from the start."
        self._store.finish(run.id, status, message)
        return self._store.get(run.id) or run

    def loss_curve(self, run_id: str) -> list[LossPoint]:
        return self._store.steps(run_id)

    def progress(self, run_id: str) -> RunProgress:
        return RunProgress(self.get(run_id), tuple(self._store.steps(run_id)))

    def evaluation_rows(self, run_id: str) -> list[dict[str, Any]]:
        return self._store.evaluation_rows(run_id)

    def evaluation(self, run_id: str) -> Comparison | None:
        """The base and the fine-tuned model's scores on the run's evaluation set, None if it had none."""
        scores = {r["evaluated_model"]: _model_score(r) for r in self._store.evaluation_rows(run_id)}
        if "base" not in scores or "fine_tuned" not in scores:
            return None
        return Comparison(scores["base"], scores["fine_tuned"])

    def mlflow_url(self, run: TrainingRun) -> str | None:
        if not run.mlflow_run_id or not run.mlflow_experiment_id:
            return None
        return open_tracker(self._wb.settings).run_url(run.mlflow_experiment_id, run.mlflow_run_id)

    def trainer_description(self) -> tuple[str, str]:
        """The base model and where it trains, for the form."""
        trainer = open_trainer(self._wb.backend)
        return trainer.base_model, trainer.describe()

    def cancel(self, run_id: str) -> None:
        run = self.get(run_id)
        if run.job_id:
            JobRunner(self._wb).cancel(run.job_id)

    def resume(self, run_id: str) -> None:
        run = self.get(run_id)
        if not run.job_id:
            raise ValidationError("This run has no job to resume.")
        JobRunner(self._wb).resume(run.job_id)
