"""An optimization run as a job: score the template's program on the evaluation set, optimize it
on the demo pool, score the optimized program on the same set, log it all to MLflow.

The program, demos and scores land in a `dspy_runs` row; a person then accepts the result (a new
draft version of the template) or rejects it (see `review`). Progress counts the evaluation
set twice (baseline, optimized) plus one step for the optimizer, whose own length is unknown.
The baseline is scored while the optimizer runs; the calls of both share the model's concurrency.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from data_access.dspy.engine import ChatModelEngine, RunCancelled, cancelled_within, import_dspy, workbench_lm
from data_access.tracking.factory import open_tracker
from data_access.tracking.tracker import ExperimentTracker, RunEnd
from services.core.errors import ValidationError
from services.core.jobs import JobContext, register_job_type
from services.core.workbench import Workbench
from services.dspy import program as dspy_program
from services.dspy.dataset import DatasetExporter, check_runnable
from services.dspy.records import DspyRun, ExampleScore, Metric, Optimizer, RunConfig, RunResult, RunStatus
from services.dspy.runs_store import DspyRunsStore
from services.templates.template_model import required_chat_model

JOB_TYPE = "dspy_optimize"
EXPERIMENT = "vital-workbench-dspy"  # beside the training experiment, not mixed into it
MAX_DEMOS_LIMIT = 8  # demos beyond this crowd a small model's context and multiply prompt tokens
OPTIMIZER_STEPS = 1  # the optimizer's share of the progress bar: its own number of calls is unknown


def run_config(params: dict[str, Any]) -> RunConfig:
    """The job's params checked; a bad value is refused before anything runs."""
    try:
        optimizer, metric = Optimizer(params["optimizer"]), Metric(params["metric"])
        max_demos, seed = int(params.get("max_demos", 4)), int(params.get("seed", 0))
    except (KeyError, ValueError) as error:
        raise ValidationError(f"Choose an optimizer ({', '.join(Optimizer)}) and a metric ({', '.join(Metric)}).") from error
    if not 1 <= max_demos <= MAX_DEMOS_LIMIT:
        raise ValidationError(f"Demos must be between 1 and {MAX_DEMOS_LIMIT}.")
    return RunConfig(str(params.get("training_sheet_id") or ""), optimizer, metric, max_demos, seed)


class OptimizationWork:
    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        self._wb = workbench
        self._config = run_config(params)
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
        try:
            result, baseline, optimized = self._optimize(context)
            if context.cancelled():
                raise RunCancelled("The optimization run was cancelled.")
            self._log(tracker, tracked.run_id, result, baseline, optimized)
            self._store.finish(run.run_id, baseline, optimized, result)
        except Exception as error:
            if cancelled_within(error) or context.cancelled():
                self._end(tracker, tracked.run_id, run.run_id, RunStatus.CANCELLED, None)
                return {"run_id": run.run_id, "cancelled": True}
            self._end(tracker, tracked.run_id, run.run_id, RunStatus.FAILED, f"{type(error).__name__}: {error}")
            raise
        tracker.end_run(tracked.run_id, RunEnd.FINISHED)
        return {"run_id": run.run_id, "baseline": baseline, "optimized": optimized, "model_calls": result.model_calls}

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

    def _optimize(self, context: JobContext) -> tuple[RunResult, float, float]:
        dataset, config = self._dataset, self._config
        threads = max(1, self._wb.settings.model_concurrency)
        engine = ChatModelEngine(self._model, threads, context.cancelled)
        template = dataset.template
        lm = workbench_lm(engine, self._model.name, template.temperature, template.max_tokens)
        outputs = [f.name for f in dataset.outputs]
        evaluations = len(dataset.evalset)
        total = 2 * evaluations + OPTIMIZER_STEPS
        context.report(0, total)

        student = dspy_program.build_program(dataset)
        baseline = student.deepcopy()  # scored while the optimizer works on its own copy
        baseline.set_lm(lm)
        metric = dspy_program.dspy_metric(config.metric, outputs)
        dspy = import_dspy()
        # The baseline's scoring does not depend on the optimizer: it runs beside it, so calls an
        # optimizer makes one at a time (BootstrapFewShot's demos) do not leave the model idle.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dspy-baseline") as side:
            scoring = side.submit(dspy_program.evaluate, baseline, dataset.evalset, config.metric, outputs, threads,
                                  lambda n: context.report(n, total))
            with dspy.context(lm=lm):
                optimized = dspy_program.compile_program(student, config.optimizer, metric, dspy_program.examples(dataset.demos),
                                                         lm, config.max_demos, threads, config.seed)
            baseline_scores = scoring.result()
        if context.cancelled():
            raise RunCancelled("The optimization run was cancelled.")
        optimized.set_lm(lm)
        context.report(evaluations + OPTIMIZER_STEPS, total)
        optimized_scores = dspy_program.evaluate(optimized, dataset.evalset, config.metric, outputs, threads,
                                                 lambda n: context.report(evaluations + OPTIMIZER_STEPS + n, total))
        scores = tuple(ExampleScore(r.pair_id, b, o) for r, b, o in zip(dataset.evalset, baseline_scores, optimized_scores, strict=True))
        result = RunResult(dspy_program.instructions_of(optimized), dspy_program.optimized_demos(optimized, dataset), scores,
                           engine.calls, _state(optimized, lm))
        return result, _mean(baseline_scores), _mean(optimized_scores)

    def _log(self, tracker: ExperimentTracker, mlflow_run_id: str, result: RunResult, baseline: float, optimized: float) -> None:
        tracker.log_params(mlflow_run_id, {**self._config.to_json(), "template": self._dataset.template.title,
                                           "model": self._model.describe(), "demo_pool": len(self._dataset.demos),
                                           "evaluation_pairs": len(self._dataset.evalset)})
        tracker.log_metrics(mlflow_run_id, {"baseline_score": baseline, "optimized_score": optimized,
                                            "model_calls": float(result.model_calls), "demos": float(len(result.demos))})
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "optimized_program.json"
            path.write_text(json.dumps({"program": result.program, "result": result.to_json()}, indent=1, default=str))
            tracker.log_file(mlflow_run_id, path, "dspy")

    def _end(self, tracker: ExperimentTracker, mlflow_run_id: str, run_id: str, status: RunStatus, error: str | None) -> None:
        self._store.end(run_id, status, error)
        tracker.end_run(mlflow_run_id, RunEnd.KILLED if status is RunStatus.CANCELLED else RunEnd.FAILED)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _state(program: Any, lm: Any) -> dict[str, Any]:
    """DSPy's own saved form of the program (signature, instructions, demos), for the MLflow artifact;
    without the model, which is the workbench's configuration, not part of the program."""
    program.set_lm(None)
    try:
        return json.loads(json.dumps(program.dump_state(), default=str))
    finally:
        program.set_lm(lm)


def _work(workbench: Workbench, params: dict[str, Any]) -> OptimizationWork:
    return OptimizationWork(workbench, params)


register_job_type(JOB_TYPE, _work)
