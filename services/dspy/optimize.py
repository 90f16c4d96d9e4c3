"""One optimization, start to end, given everything it needs: score the template's program on the
evaluation set, optimize it on the demo pool, score the optimized program on the same set.

It runs in the optimizer's worker process (services/dspy/worker.py), which is why it takes plain
records and a model rather than the workbench: the store stays with the app's process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from data_access.dspy.engine import ChatModelEngine, RunCancelled, import_dspy, workbench_lm
from data_access.llm.chat import ChatModel
from services.dspy import program as dspy_program
from services.dspy.records import DspyDataset, ExampleScore, RunConfig, RunResult

OPTIMIZER_STEPS = 1  # the optimizer's share of the progress bar: its own number of calls is unknown


@dataclass(frozen=True)
class Optimized:
    result: RunResult
    baseline: float
    optimized: float


def optimize(dataset: DspyDataset, config: RunConfig, model: ChatModel, concurrency: int,
             report: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Optimized:
    """Score the template's program on the evaluation set, optimize it on the demo pool, score the
    optimized program on the same set. Runs in the optimizer's worker process (services/dspy/worker.py)."""
    threads = max(1, concurrency)
    engine = ChatModelEngine(model, threads, cancelled)
    template = dataset.template
    lm = workbench_lm(engine, model.name, template.temperature, template.max_tokens)
    outputs = [f.name for f in dataset.outputs]
    evaluations = len(dataset.evalset)
    total = 2 * evaluations + OPTIMIZER_STEPS
    report(0, total)

    student = dspy_program.build_program(dataset)
    baseline = student.deepcopy()  # scored while the optimizer works on its own copy
    baseline.set_lm(lm)
    metric = dspy_program.dspy_metric(config.metric, outputs)
    dspy = import_dspy()
    # The baseline's scoring does not depend on the optimizer: it runs beside it, so calls an
    # optimizer makes one at a time (BootstrapFewShot's demos) do not leave the model idle.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dspy-baseline") as side:
        scoring = side.submit(dspy_program.evaluate, baseline, dataset.evalset, config.metric, outputs, threads,
                              lambda n: report(n, total))
        with dspy.context(lm=lm):
            optimized = dspy_program.compile_program(student, config.optimizer, metric, dspy_program.examples(dataset.demos),
                                                     lm, config.max_demos, threads, config.seed)
        baseline_scores = scoring.result()
    if cancelled():
        raise RunCancelled("The optimization run was cancelled.")
    optimized.set_lm(lm)
    report(evaluations + OPTIMIZER_STEPS, total)
    optimized_scores = dspy_program.evaluate(optimized, dataset.evalset, config.metric, outputs, threads,
                                             lambda n: report(evaluations + OPTIMIZER_STEPS + n, total))
    scores = tuple(ExampleScore(r.pair_id, b, o) for r, b, o in zip(dataset.evalset, baseline_scores, optimized_scores, strict=True))
    result = RunResult(dspy_program.instructions_of(optimized), dspy_program.optimized_demos(optimized, dataset), scores,
                       engine.calls, _state(optimized, lm))
    return Optimized(result, _mean(baseline_scores), _mean(optimized_scores))


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
