"""DSPy Optimizer: a whole optimization run (baseline scoring, optimizer, optimized scoring) with a
scripted model that takes 100 ms per call behind a loopback OpenAI-compatible server. The run's
throughput (model calls per second) against its concurrency's ideal (concurrency ÷ 100 ms): the
share of the time the run keeps every allowed call in flight.

What DSPy does one call at a time (BootstrapFewShot bootstraps its demos in order, stopping once
it has enough) is part of the run and counts against it. Each optimizer is measured as launched by
default (against the goal) and launched with every call traced by `mlflow.dspy.autolog` in the
worker process (reported: the cost of asking for traces). Run: `python -m bench.dspy_optimizer`.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from bench.measure import Measurement, at_least, over_floor, reported
from bench.scratch_home import bench_settings, scratch_home
from data_access.llm.chat import ChatMessage, ChatRequest
from data_access.llm.openai_compatible import OpenAICompatibleChat
from services.core.jobs import JobRunner
from services.core.workbench import Workbench, open_workbench
from services.dspy.optimizer_service import DspyOptimizerService
from tests.dspy_builders import TASK_FIELDS, provider_kind, provider_training_sheet
from tests.fakes.chat_server import ChatScript, FakeChatServer
from tests.fakes.dspy_answers import dspy_answerer

CALL_S = 0.1  # issue 12: the scripted model's time per call
PAIRS = 200  # one per invoice of the source table; about half become evaluation pairs, each scored twice
CONCURRENCY = 8  # the workbench's default model concurrency (WORKBENCH_MODEL_CONCURRENCY)
GOAL_SHARE = 80.0  # % of the ideal throughput
OPTIMIZERS = ("BootstrapFewShot", "BootstrapFewShotWithRandomSearch")
RUN_TIMEOUT_S = 600
# The run against the bare client's rate measured beside it (the floor's rate ÷ the run's): a
# loaded machine slows both, the ratio tells a slow machine from a slow run.
OVER_FLOOR = 1.25


def _floor_rate(server: FakeChatServer, calls: int) -> float:
    """Calls per second of the same model with nothing but the HTTP client around it, at the same
    concurrency: what this machine, under its current load, allows any run to reach."""
    model = OpenAICompatibleChat(server.base_url, None, default_model="scripted")
    requests = [ChatRequest((ChatMessage("user", f"floor {i}"),), "", 0.0, 16, str(i)) for i in range(calls)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        list(pool.map(model.complete, requests))
    return calls / (time.perf_counter() - start)


def _measure(wb: Workbench, server: FakeChatServer, training_sheet_id: str, optimizer: str, traced: bool) -> Measurement:
    service = DspyOptimizerService(wb)
    before = len(server.received)
    start = time.perf_counter()
    job_id = service.launch(training_sheet_id, optimizer, "exact_match", max_demos=4, trace_calls=traced)
    job = JobRunner(wb).wait(job_id, RUN_TIMEOUT_S)
    elapsed = time.perf_counter() - start
    if job.status.value != "succeeded":
        raise RuntimeError(f"The {optimizer} run {job.status.value}: {job.error}")
    run = service.run_of_job(job_id)
    calls = len(server.received) - before
    rate, ideal = calls / elapsed, CONCURRENCY / CALL_S
    floor = _floor_rate(server, calls)
    detail = (f"{calls} calls in {elapsed:.1f} s ({rate:.1f}/s; ideal {ideal:.0f}/s at {CONCURRENCY} in flight × {CALL_S * 1000:.0f} ms); "
              f"{len(run.result.scores)} evaluation pairs scored twice, {run.baseline_score:.0%} → {run.optimized_score:.0%}; "
              f"most in flight at once: {server.max_in_flight}")
    case = (f"DSPy {optimizer} run, {'every call traced (asked for)' if traced else 'as launched by default'}, "
            f"scripted model at {CALL_S * 1000:.0f} ms per call: share of ideal throughput")
    detail += f"; load average {os.getloadavg()[0]:.1f}"
    share, floor_share = 100 * rate / ideal, 100 * floor / ideal
    if traced:  # the goal is the run's; a trace of every call is a record someone asks for, at MLflow's price
        return reported(case, share, "%", f"{detail}; a bare concurrent client reached {floor_share:.0f}%")
    measured = at_least(case, share, GOAL_SHARE, "%", detail)
    return over_floor(measured, "the same calls from a bare concurrent client (% of ideal)", floor_share, OVER_FLOOR, higher_is_better=True)


def run() -> list[Measurement]:
    with scratch_home("bench-dspy-") as home, \
            FakeChatServer(ChatScript(latency_s=CALL_S, answer=dspy_answerer(provider_kind, TASK_FIELDS))) as server:
        settings = bench_settings(home, WORKBENCH_LLM_BASE_URL=server.base_url, WORKBENCH_LLM_MODEL="scripted")
        wb = open_workbench(replace(settings, model_concurrency=CONCURRENCY))
        training = provider_training_sheet(wb, pairs=PAIRS)
        # warm-up: the worker process, its dspy import and MLflow's first store are paid once per app
        _measure(wb, server, training.id, OPTIMIZERS[0], traced=True)
        return [_measure(wb, server, training.id, optimizer, traced) for traced in (False, True) for optimizer in OPTIMIZERS]


if __name__ == "__main__":
    for m in run():
        print(m.case, m.value, m.unit, m.goal, "met" if m.all_met else "NOT MET", "|", m.detail, m.floors)
