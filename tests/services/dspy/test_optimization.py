"""A DSPy run end to end against a real store and a scripted model behind a loopback
OpenAI-compatible server: dataset, job, scores, MLflow, accept as a new template version."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from mlflow import MlflowClient

from data_access.tracking.dspy_autolog import TraceDestination
from data_access.tracking.factory import local_tracking_uri, open_tracker
from services.core.domain.template import TemplateStatus
from services.core.errors import StaleWriteError, ValidationError
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.dspy.dataset import DatasetExporter
from services.dspy.optimizer_service import DspyOptimizerService
from services.dspy.records import Decision, Metric, Optimizer, RunConfig, RunStatus
from services.dspy.worker import OptimizationTask, run_in_worker
from services.generate.qa_pairs_store import INSERT_COLUMNS, QaPairsStore
from services.generate.training_sheets_store import TrainingSheetsStore
from services.templates.prompt_templates import TemplateService
from tests.dspy_builders import TASK_FIELDS, provider_kind, provider_training_sheet
from tests.fakes.chat_server import ChatScript, FakeChatServer
from tests.fakes.dspy_answers import dspy_answerer
from tests.mlflow_store import empty_mlflow_db, fresh_mlflow_store  # noqa: F401 - fixtures: a built MLflow store per test

JOB_WAIT_S = 60


@pytest.fixture
def model_server() -> Iterator[FakeChatServer]:
    with FakeChatServer(ChatScript(answer=dspy_answerer(provider_kind, TASK_FIELDS))) as server:
        yield server


@pytest.fixture
def wb(workbench: Workbench, model_server: FakeChatServer) -> Workbench:
    settings = replace(workbench.settings, llm_base_url=model_server.base_url, llm_model="scripted")
    return Workbench(replace(workbench.backend, settings=settings))


def _finished_run(wb: Workbench, optimizer: str = "BootstrapFewShot", metric: str = "per_field_match", trace_calls: bool | None = None):
    service = DspyOptimizerService(wb)
    training = provider_training_sheet(wb)
    job_id = service.launch(training.id, optimizer, metric, max_demos=2, trace_calls=trace_calls)
    job = JobRunner(wb).wait(job_id, JOB_WAIT_S)
    assert job.status.value == "succeeded", job.error
    return service, service.run_of_job(job_id)


def test_a_bootstrap_run_scores_baseline_and_optimized_on_the_same_evaluation_pairs(wb: Workbench) -> None:
    service, run = _finished_run(wb)
    assert run.status is RunStatus.SUCCEEDED
    assert run.baseline_score == 0.0  # the scripted model answers "unknown" without demonstrations
    assert run.optimized_score == 1.0
    dataset = service.dataset(run.training_sheet_id)
    assert [s.pair_id for s in run.result.scores] == [r.pair_id for r in dataset.evalset]
    assert {d.pair_id for d in run.result.demos} <= {r.pair_id for r in dataset.demos}
    assert run.result.demos and run.result.model_calls > 0
    assert "scripted" in run.model


@pytest.mark.parametrize("optimizer", ["BootstrapFewShotWithRandomSearch", "MIPROv2", "GEPA"])
def test_every_optimizer_improves_on_the_baseline_with_a_model_that_can_learn(wb: Workbench, optimizer: str) -> None:
    _, run = _finished_run(wb, optimizer)
    assert (run.optimizer, run.baseline_score, run.optimized_score) == (optimizer, 0.0, 1.0)


def test_a_run_is_logged_to_mlflow_with_its_scores_and_program(wb: Workbench) -> None:
    _, run = _finished_run(wb)
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=local_tracking_uri(wb.settings.home))
    logged = client.get_run(run.mlflow_run_id)
    assert logged.data.metrics["baseline_score"] == 0.0 and logged.data.metrics["optimized_score"] == 1.0
    assert logged.data.params["optimizer"] == "BootstrapFewShot"
    artifacts = [a.path for a in client.list_artifacts(run.mlflow_run_id, "dspy")]
    assert artifacts == ["dspy/optimized_program.json"]


def test_accepting_a_run_makes_the_next_draft_version_with_its_demos_linked_to_the_run(wb: Workbench) -> None:
    service, run = _finished_run(wb)
    template = TemplateService(wb).get(run.template_id)
    version = service.accept(run.run_id)
    assert version.status is TemplateStatus.DRAFT and version.family_id == template.family_id
    assert version.version == "1.1.0"
    assert len(version.examples) == len(run.result.demos) > 0
    assert version.examples[0].output in ('{"kind": "hospital"}', '{"kind": "clinic"}')
    assert service.template_run(version.id) == run.run_id
    decided = service.get(run.run_id)
    assert decided.decision is Decision.ACCEPTED and decided.accepted_template_id == version.id
    with pytest.raises(StaleWriteError):
        service.reject(run.run_id)


def test_a_decision_writes_the_scores_back_to_pairs_and_examples(wb: Workbench) -> None:
    service, run = _finished_run(wb)
    demo_pair = run.result.demos[0].pair_id
    engine = wb.backend.engine
    engine.execute(f"INSERT INTO {wb.table('example_store')} (example_id, input, expected_output, source_qa_pair_id) "
                   "VALUES ('ex-1', 'x', 'y', :pair)", {"pair": demo_pair})
    service.reject(run.run_id)
    assert service.get(run.run_id).decision is Decision.REJECTED
    scored = {r["id"]: r["quality_score"] for r in engine.query(f"SELECT id, quality_score FROM {wb.table('qa_pairs')}")}
    assert all(scored[s.pair_id] == s.optimized for s in run.result.scores)
    assert engine.scalar(f"SELECT effectiveness_score FROM {wb.table('example_store')} WHERE example_id = 'ex-1'") == 1.0


def test_demos_and_evaluation_pairs_never_overlap_and_follow_the_gates(workbench: Workbench) -> None:
    training = provider_training_sheet(workbench, pairs=12, uses={0: ("few_shot",), 1: ("evaluation",), 2: ("training",)})
    dataset = DspyOptimizerService(workbench).dataset(training.id)
    demos, evalset = {r.pair_id for r in dataset.demos}, {r.pair_id for r in dataset.evalset}
    assert not demos & evalset
    assert len(demos | evalset) == 11  # pair 2 is allowed for training only
    ordinal = {r["id"]: r["ordinal"] for r in workbench.backend.engine.query(f"SELECT id, ordinal FROM {workbench.table('qa_pairs')}")}
    assert {ordinal[p] for p in demos} >= {0} and {ordinal[p] for p in evalset} >= {1}
    assert dataset.evalset[0].inputs.keys() == {"invoice_id", "provider_name"}


def test_a_pair_missing_a_field_is_reported_and_left_out(workbench: Workbench) -> None:
    training = provider_training_sheet(workbench, pairs=6)
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('qa_pairs')} SET messages = :m WHERE training_sheet_id = :t AND ordinal = 0",
        {"m": '[{"role": "user", "content": "x"}, {"role": "assistant", "content": "{\\"note\\": 1}"}]', "t": training.id})
    dataset = DspyOptimizerService(workbench).dataset(training.id)
    assert len(dataset.demos) + len(dataset.evalset) == 5
    assert any("INV-0000" in p and "kind" in p for p in dataset.problems)


def test_a_run_without_a_configured_model_is_refused_before_anything_is_written(workbench: Workbench) -> None:
    training = provider_training_sheet(workbench)
    with pytest.raises(ValidationError, match="No language model"):
        DspyOptimizerService(workbench).launch(training.id, "BootstrapFewShot", "exact_match", 2)
    assert workbench.backend.engine.scalar(f"SELECT count(*) FROM {workbench.table('dspy_runs')}") == 0


def test_a_cancelled_run_stops_at_its_next_model_call_and_says_so(wb: Workbench, model_server: FakeChatServer) -> None:
    model_server.use(ChatScript(latency_s=0.05, answer=dspy_answerer(provider_kind, TASK_FIELDS)))
    service = DspyOptimizerService(wb)
    training = provider_training_sheet(wb, pairs=40)
    runner = JobRunner(wb)
    job_id = service.launch(training.id, "BootstrapFewShot", "exact_match", max_demos=2)
    deadline = time.monotonic() + JOB_WAIT_S
    while not model_server.received and time.monotonic() < deadline:
        time.sleep(0.01)  # polling for the first call to arrive, not waiting a fixed time
    runner.cancel(job_id)
    job = runner.wait(job_id, JOB_WAIT_S)
    assert job.status.value == "cancelled"
    run = service.run_of_job(job_id)
    assert run.status is RunStatus.CANCELLED and run.result is None
    calls = len(model_server.received)
    assert calls < 40  # the 20-odd evaluation pairs, the demos and the second evaluation were not all asked


def test_every_model_call_of_a_run_launched_traced_is_traced_by_dspy_autologging_into_the_runs_own_store(wb: Workbench) -> None:
    _, run = _finished_run(wb, trace_calls=True)
    assert run.config["trace_calls"] is True
    client = MlflowClient(open_tracker(wb.settings).tracking_uri)
    experiment_id = client.get_run(run.mlflow_run_id).info.experiment_id
    traces = client.search_traces(locations=[experiment_id], max_results=1000)
    assert traces and all(t.info.request_metadata.get("mlflow.sourceRun") == run.mlflow_run_id for t in traces)
    # the baseline and the optimized program each scored every evaluation pair, every call traced
    assert len(traces) >= 2 * len(run.result.scores)
    assert {"Predict.forward", "LM.__call__"} <= {s.name for s in traces[0].data.spans}


def test_a_worker_that_dies_fails_its_run_with_the_reason_and_the_next_run_gets_a_new_one(wb: Workbench, model_server: FakeChatServer) -> None:
    model_server.use(ChatScript(latency_s=0.05, answer=dspy_answerer(provider_kind, TASK_FIELDS)))
    service, runner = DspyOptimizerService(wb), JobRunner(wb)
    training = provider_training_sheet(wb, pairs=40)
    job_id = service.launch(training.id, "BootstrapFewShot", "exact_match", max_demos=2)
    deadline = time.monotonic() + JOB_WAIT_S
    while not model_server.received and time.monotonic() < deadline:
        time.sleep(0.01)  # polling for the first call to arrive, not waiting a fixed time
    for pid in _worker_pids():
        os.kill(pid, signal.SIGKILL)
    job = runner.wait(job_id, JOB_WAIT_S)
    assert job.status.value == "failed" and "worker process stopped" in (job.error or "")
    assert service.run_of_job(job_id).status is RunStatus.FAILED
    model_server.use(ChatScript(answer=dspy_answerer(provider_kind, TASK_FIELDS)))
    again = service.launch(training.id, "BootstrapFewShot", "exact_match", max_demos=2)
    assert runner.wait(again, JOB_WAIT_S).status.value == "succeeded"


def test_a_run_launched_as_configured_by_default_is_logged_without_traces(wb: Workbench) -> None:
    _, run = _finished_run(wb)
    assert run.config["trace_calls"] is False
    client = MlflowClient(open_tracker(wb.settings).tracking_uri)
    logged = client.get_run(run.mlflow_run_id)
    assert logged.data.metrics["optimized_score"] == run.optimized_score
    assert client.search_traces(locations=[logged.info.experiment_id], max_results=10) == []


def test_with_dspy_traces_on_a_launch_traces_its_calls_unless_it_says_otherwise(wb: Workbench) -> None:
    traced = Workbench(replace(wb.backend, settings=replace(wb.settings, dspy_traces=True)))
    service, runner, training = DspyOptimizerService(traced), JobRunner(traced), provider_training_sheet(traced)
    runs = []
    for trace_calls in (None, False, None):  # one after the other: the same warm worker turns tracing on, off, on
        job_id = service.launch(training.id, "BootstrapFewShot", "exact_match", max_demos=2, trace_calls=trace_calls)
        assert runner.wait(job_id, JOB_WAIT_S).status.value == "succeeded"
        runs.append(service.run_of_job(job_id))
    assert [run.config["trace_calls"] for run in runs] == [True, False, True]
    client = MlflowClient(open_tracker(traced.settings).tracking_uri)
    experiment_id = client.get_run(runs[0].mlflow_run_id).info.experiment_id
    traces = client.search_traces(locations=[experiment_id], max_results=1000)
    per_run = {run.mlflow_run_id: sum(t.info.request_metadata.get("mlflow.sourceRun") == run.mlflow_run_id for t in traces) for run in runs}
    assert per_run[runs[1].mlflow_run_id] == 0 and len(traces) == per_run[runs[0].mlflow_run_id] + per_run[runs[2].mlflow_run_id]
    assert all(per_run[run.mlflow_run_id] == run.result.model_calls for run in (runs[0], runs[2]))  # a trace a call, none leaked


def _worker_pids() -> list[int]:
    """This process's optimizer workers (`python -m services.dspy.worker`), from /proc."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            parent = next(line.split()[1] for line in status.read_text().splitlines() if line.startswith("PPid:"))
            command = (status.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, StopIteration):
            continue  # a process that ended meanwhile
        if int(parent) == os.getpid() and b"services.dspy.worker" in command:
            pids.append(int(status.parent.name))
    return pids


def test_runs_back_to_back_are_served_by_the_same_warm_worker(wb: Workbench) -> None:
    service, runner = DspyOptimizerService(wb), JobRunner(wb)
    training = provider_training_sheet(wb)
    served_by = []
    for _ in range(3):  # each handed the worker the moment the one before ended
        job_id = service.launch(training.id, "BootstrapFewShot", "exact_match", max_demos=2)
        assert runner.wait(job_id, JOB_WAIT_S).status.value == "succeeded"
        served_by.append(_worker_pids())
    assert len(served_by[0]) == 1 and served_by == [served_by[0]] * 3


def test_a_trace_destination_mlflow_refuses_leaves_the_run_untraced_not_failed(wb: Workbench) -> None:
    training = provider_training_sheet(wb)
    task = OptimizationTask(
        DatasetExporter(wb).export(training.id, 0), RunConfig(training.id, Optimizer.BOOTSTRAP, Metric.EXACT, 2),
        wb.settings, wb.user, 4, TraceDestination(open_tracker(wb.settings).tracking_uri, "0", "no-such-run"),
    )
    outcome = run_in_worker(task, lambda done, total: None, lambda: False)
    assert outcome.optimized == 1.0 and outcome.result.model_calls > 0


def test_the_training_sheets_with_the_most_pairs_a_run_can_use_are_offered_first(workbench: Workbench) -> None:
    usable = provider_training_sheet(workbench, pairs=12, uses={0: ("training",), 1: ("evaluation",), 2: ("few_shot", "testing")})
    kept_out = replace(usable, id=str(uuid.uuid4()), name="A Training Sheet kept from few-shot and evaluation")  # first by name
    TrainingSheetsStore(workbench.backend.engine, workbench.table("training_sheets"), workbench.table("qa_pairs")).insert(kept_out)
    store = QaPairsStore(workbench.backend.engine, workbench.table("qa_pairs"))
    copied = workbench.backend.engine.query_df(f"SELECT * FROM {store.table} WHERE training_sheet_id = :id", {"id": usable.id})
    # labeled, like the demo's crystal pairs, but allowed for training only
    store.insert_frame(copied.assign(id=[str(uuid.uuid4()) for _ in range(len(copied))], training_sheet_id=kept_out.id,
                                     allowed_uses=[["training", "validation"]] * len(copied))[list(INSERT_COLUMNS)])
    offered = DspyOptimizerService(workbench).training_sheets()
    assert [(choice.id, choice.usable) for choice in offered] == [(usable.id, 11), (kept_out.id, 0)]
