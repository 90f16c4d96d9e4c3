"""The DSPy side of a run: the program a template becomes, the optimizers, and scoring on a set.

DSPy is an optimization library, not the outside world: the model it calls is the workbench's,
behind `data_access.dspy.engine`. Every predictor gets that model explicitly, so threads the
optimizers start (and ours) all call it, whatever DSPy's per-thread settings say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from data_access.dspy.engine import RunCancelled, cancelled_within, import_dspy
from services.dspy.metric import score
from services.dspy.records import DspyDataset, DspyRecord, Metric, OptimizedDemo, Optimizer

BOOTSTRAP_ROUNDS = 1  # one pass over the demo pool: more rounds only retry the ones that failed
RANDOM_SEARCH_CANDIDATES = 4  # candidate demo sets beyond the zero- and labeled-only baselines
_RANDOM_SEARCH_FIRST_SEED = -3  # DSPy's seeds: -3 zero-shot, -2 labeled demos only, -1 unshuffled bootstrap
GEPA_MAX_METRIC_CALLS = 60  # GEPA's budget: a handful of reflective rounds on a small pool


def build_program(dataset: DspyDataset) -> Any:
    """A `dspy.Predict` over the template's signature, with its system prompt as instructions."""
    dspy = import_dspy()
    fields: dict[str, Any] = {}
    for f in dataset.inputs:
        fields[f.name] = (str, dspy.InputField(desc=f.description or f.name))
    for f in dataset.outputs:
        about = f.description or f.name
        if f.choices:
            about += f" (one of: {', '.join(f.choices)})"
        elif f.type.value != "string":
            about += f" (JSON {f.type.value})"
        fields[f.name] = (str, dspy.OutputField(desc=about))
    instructions = dataset.instructions.strip() or f"Given the {', '.join(f.name for f in dataset.inputs)}, produce the {', '.join(f.name for f in dataset.outputs)}."
    return dspy.Predict(dspy.Signature(fields, instructions))


def examples(records: Sequence[DspyRecord]) -> list[Any]:
    dspy = import_dspy()
    return [dspy.Example(pair_id=r.pair_id, **r.inputs, **r.outputs).with_inputs(*r.inputs) for r in records]


def dspy_metric(metric: Metric, outputs: Sequence[str]) -> Callable[..., Any]:
    """DSPy's metric: a score when evaluating; while bootstrapping (a trace is given) only a
    fully right answer counts, so a half-wrong answer never becomes a demo."""

    def judged(example: Any, prediction: Any, trace: Any = None, *_: Any) -> float | bool:
        value = score(metric, {name: example[name] for name in outputs}, {name: getattr(prediction, name, None) for name in outputs})
        return value >= 1.0 if trace is not None else value

    return judged


def _random_search(program: Any, metric: Callable[..., Any], trainset: list[Any], lm: Any, max_demos: int, threads: int) -> Any:
    """BootstrapFewShotWithRandomSearch with its candidates built and scored side by side.

    DSPy builds the candidates in turn, each bootstrapping its demos one model call at a time,
    which left the other slots of the model idle (72% of the ideal throughput against 93% for a
    bare client, bench at load 7). Each candidate here is DSPy's own compile restricted to its
    seed; the engine still bounds the calls in flight; the best is chosen as DSPy chooses it
    (the highest score, the earliest seed on a tie).
    """
    dspy = import_dspy()
    seeds = list(range(_RANDOM_SEARCH_FIRST_SEED, RANDOM_SEARCH_CANDIDATES))

    def candidate(seed: int) -> tuple[float, Any]:
        with dspy.context(lm=lm):  # DSPy's settings are per thread
            search = dspy.BootstrapFewShotWithRandomSearch(
                metric=metric, max_bootstrapped_demos=max_demos, max_labeled_demos=max_demos,
                num_candidate_programs=RANDOM_SEARCH_CANDIDATES, num_threads=threads)
            found = search.compile(program, trainset=trainset, restrict=[seed])
        return found.candidate_programs[0]["score"], found

    with ThreadPoolExecutor(max_workers=max(1, min(len(seeds), threads)), thread_name_prefix="dspy-candidate") as pool:
        found = list(pool.map(candidate, seeds))
    best_score = max(score for score, _ in found)
    best = next(program for score, program in found if score == best_score)
    best.candidate_programs = sorted((c for _, p in found for c in p.candidate_programs), key=lambda c: c["score"], reverse=True)
    return best


def _gepa_metric(metric: Callable[..., Any]) -> Callable[..., Any]:
    def judged(gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None) -> float:
        return float(metric(gold, pred))

    return judged


def compile_program(program: Any, optimizer: Optimizer, metric: Callable[..., Any], trainset: list[Any], lm: Any,
                    max_demos: int, threads: int, seed: int) -> Any:
    dspy = import_dspy()
    if optimizer is Optimizer.BOOTSTRAP:
        chosen = dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=max_demos, max_labeled_demos=max_demos,
                                       max_rounds=BOOTSTRAP_ROUNDS)
        return chosen.compile(program, trainset=trainset)
    if optimizer is Optimizer.RANDOM_SEARCH:
        return _random_search(program, metric, trainset, lm, max_demos, threads)
    if optimizer is Optimizer.MIPRO:
        chosen = dspy.MIPROv2(metric=metric, prompt_model=lm, task_model=lm, auto="light", num_threads=threads, seed=seed,
                              max_bootstrapped_demos=max_demos, max_labeled_demos=max_demos, verbose=False)
        return chosen.compile(program, trainset=trainset)
    chosen = dspy.GEPA(metric=_gepa_metric(metric), reflection_lm=lm, max_metric_calls=GEPA_MAX_METRIC_CALLS, num_threads=threads, seed=seed)
    return chosen.compile(program, trainset=trainset)


def evaluate(program: Any, records: Sequence[DspyRecord], metric: Metric, outputs: Sequence[str], threads: int,
             done: Callable[[int], None]) -> list[float]:
    """The program's score on each record, in order; a record the model fails on scores 0."""

    def one(record: DspyRecord) -> float:
        try:
            prediction = program(**record.inputs)
        except Exception as error:  # the model's answer could not be parsed or the call failed: a wrong answer
            if cancelled_within(error):
                raise RunCancelled("The optimization run was cancelled.") from error
            return 0.0
        return score(metric, record.outputs, {name: getattr(prediction, name, None) for name in outputs})

    scores: list[float] = []
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for value in pool.map(one, records):
            scores.append(value)
            done(len(scores))
    return scores


def optimized_demos(program: Any, dataset: DspyDataset) -> tuple[OptimizedDemo, ...]:
    """The demos the optimized program carries, each traced to its pair when its inputs are a pair's."""
    by_inputs = {tuple(sorted(r.inputs.items())): r.pair_id for r in dataset.demos}
    demos = []
    for demo in program.predictors()[0].demos:
        inputs = {f.name: str(demo.get(f.name, "")) for f in dataset.inputs}
        outputs = {f.name: str(demo.get(f.name, "")) for f in dataset.outputs}
        demos.append(OptimizedDemo(demo.get("pair_id") or by_inputs.get(tuple(sorted(inputs.items()))), inputs, outputs))
    return tuple(demos)


def instructions_of(program: Any) -> str:
    return str(program.predictors()[0].signature.instructions)
