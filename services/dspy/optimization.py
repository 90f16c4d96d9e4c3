"""An optimization run as a job: score the template's program on the evaluation set, optimize it
on the demo pool, score the optimized program on the same set, log it all to MLflow.

The program, demos and scores land in a `dspy_runs` row; a person then accepts the result (a new
draft version of the template) or rejects it (see `review`). Progress counts the evaluation
set twice (baseline, optimized) plus one step for the optimizer, whose own length is unknown.
The baseline is scored while the optimizer runs; the calls of both share the model's concurrency.
The optimizing itself (services/dspy/optimize.py) runs in a worker process (services/dspy/worker.py),
where DSPy's MLflow autologging traces every model call of a run launched with `trace_calls`
(tens of ms of CPU a call on the local MLflow store, so it is asked for, not done by default);
this job keeps the store and the run's record.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from data_access.dspy.engine import RunCancelled, cancelled_within
from data_access.tracking.dspy_autolog import TraceDestination
from data_access.tracking.factory import open_tracker
from data_access.tracking.tracker import ExperimentTracker, RunEnd
from services.core.errors import ValidationError
from services.core.jobs import JobContext, register_job_type
from services.core.workbench import Workbench
from services.dspy.dataset import DatasetExporter, check_runnable
from services.dspy.optimize import Optimized
from services.dspy.records import DspyRun, Metric, Optimizer, RunConfig, RunStatus
from services.dspy.runs_store import DspyRunsStore
from services.dspy.worker import OptimizationTask, WorkerFailed, run_in_worker
from services.templates.template_model import required_chat_model

JOB_TYPE = "dspy_optimize"
EXPERIMENT = "vital-workbench-dspy"  # beside the training experiment, not mixed into it
MAX_DEMOS_LIMIT = 8  # demos beyond this crowd a small model's context and multiply prompt tokens


def run_config(params: dict[str, Any]) -> RunConfig:
    """The job's params checked; a bad value is refused before anything runs."""
    try:
        optimizer, metric = Optimizer(params["optimizer"]), Metric(params["metric"])
        max_demos, seed = int(params.get("max_demos", 4)), int(params.get("seed", 0))
    except (KeyError, ValueError) as error:
        raise ValidationError(f"Choose an optimizer ({', '.join(Optimizer)}) and a metric ({', '.join(Metric)}).") from error
    if not 1 <= max_demos <= MAX_DEMOS_LIMIT:
        raise ValidationError(f"Demos must be between 1 and {MAX_DEMOS_LIMIT}.")
    return RunConfig(str(params.get("training_sheet_id") or ""), optimizer, metric, max_demos, seed, params.get("trace_calls") is True)


class OptimizationWork:
    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        self._wb = workbench
        # a job launched before runs chose their tracing takes the setting, as its launch would have
        self._config = run_config({"trace_calls": workbench.settings.dspy_traces, **params})
        self._dataset = DatasetExporter(workbench).export(self._config.training_sheet_id, self._config.seed)
        check_runnable(self._dataset)
        self._model = required_chat_model(workbench, self._dataset.template)
        self._store = DspyRunsStore(workbench)

    def run(self, context: JobContext) -> dict[str, Any]:
        done = self._store.by_job(context.job_id)
        if done is not None and done.status is RunStatus.SUCCEEDED:
            return {"run_id": done.run_id}  # a resumed job that had finished: nothing to redo
        run = self._started(context.job_id)
        tracker = open_tracker(self._wb.settings)
        tracked = tracker.start_run(EXPERIMENT, f"{run.optimizer} · {self._dataset.template.title} · {run.run_id[:8]}",
                                    {"workbench.dspy_run_id": run.run_id, "workbench.training_sheet_id": run.training_sheet_id,
                                     "workbench.template_id": run.template_id})
        self._store.set_mlflow_run(run.run_id, tracked.run_id)
        task = OptimizationTask(self._dataset, self._config, self._wb.settings, self._wb.user, self._wb.settings.model_concurrency,
                                TraceDestination(tracker.tracking_uri, tracked.experiment_id, tracked.run_id)
                                if self._config.trace_calls else None)
        try:
            outcome = run_in_worker(task, context.report, context.cancelled)
            if context.cancelled():
                raise RunCancelled("The optimization run was cancelled.")
            self._log(tracker, tracked.run_id, outcome)
            self._store.finish(run.run_id, outcome.baseline, outcome.optimized, outcome.result)
        except Exception as error:
            if cancelled_within(error) or context.cancelled() or (isinstance(error, WorkerFailed) and error.cancelled):
                self._end(tracker, tracked.run_id, run.run_id, RunStatus.CANCELLED, None)
                return {"run_id": run.run_id, "cancelled": True}
            reason = str(error) if isinstance(error, WorkerFailed) else f"{type(error).__name__}: {error}"
            self._end(tracker, tracked.run_id, run.run_id, RunStatus.FAILED, reason)
            raise
        tracker.end_run(tracked.run_id, RunEnd.FINISHED)
        return {"run_id": run.run_id, "baseline": outcome.baseline, "optimized": outcome.optimized, "model_calls": outcome.result.model_calls}

    def _started(self, job_id: str) -> DspyRun:
        run = DspyRun(
            run_id=str(uuid.uuid4()), training_sheet_id=self._dataset.training_sheet_id, template_id=self._dataset.template.id,
            optimizer=self._config.optimizer.value, metric=self._config.metric.value, status=RunStatus.RUNNING,
            model=self._model.describe(), config={**self._config.to_json(), "demo_pool": len(self._dataset.demos),
                                                  "evaluation_pairs": len(self._dataset.evalset)},
            job_id=job_id, created_by=self._wb.user.email,
        )
        self._store.start(run)
        return run

    def _log(self, tracker: ExperimentTracker, mlflow_run_id: str, outcome: Optimized) -> None:
        result = outcome.result
        tracker.log_params(mlflow_run_id, {**self._config.to_json(), "template": self._dataset.template.title,
                                           "model": self._model.describe(), "demo_pool": len(self._dataset.demos),
                                           "evaluation_pairs": len(self._dataset.evalset)})
        tracker.log_metrics(mlflow_run_id, {"baseline_score": outcome.baseline, "optimized_score": outcome.optimized,
                                            "model_calls": float(result.model_calls), "demos": float(len(result.demos))})
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "optimized_program.json"
            path.write_text(json.dumps({"program": result.program, "result": result.to_json()}, indent=1, default=str))
            tracker.log_file(mlflow_run_id, path, "dspy")

    def _end(self, tracker: ExperimentTracker, mlflow_run_id: str, run_id: str, status: RunStatus, error: str | None) -> None:
        self._store.end(run_id, status, error)
        tracker.end_run(mlflow_run_id, RunEnd.KILLED if status is RunStatus.CANCELLED else RunEnd.FAILED)


def _work(workbench: Workbench, params: dict[str, Any]) -> OptimizationWork:
    return OptimizationWork(workbench, params)


register_job_type(JOB_TYPE, _work)
