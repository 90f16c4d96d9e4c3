"""The job runner against a real embedded store, with test-only work that counts items into a table."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pandas as pd
import pytest

from data_access.identity import User
from services.core.domain.job import JobStatus
from services.core.errors import NotFoundError, ValidationError
from services.core.job_runs_store import JobRunsStore
from services.core.jobs import MAX_CONCURRENT_JOBS, JobRunner
from services.core.workbench import Workbench
from tests.job_works import (
    COUNTING_JOB,
    GATES,
    TRACKERS,
    WAIT_S,
    Tracker,
    create_items_table,
    eventually,
    items_done,
    items_table,
    stop_all_jobs,
)

ITEMS = 12


@pytest.fixture
def runner(workbench: Workbench) -> Iterator[JobRunner]:
    create_items_table(workbench)
    runner = JobRunner(workbench)
    yield runner
    stop_all_jobs(runner)


def _gate() -> str:
    name = str(uuid.uuid4())
    GATES[name] = threading.Event()
    return name


def _as(workbench: Workbench, email: str) -> Workbench:
    """The same store, as another person (their own session)."""
    return replace(workbench, backend=replace(workbench.backend, user=User(email, email.split("@")[0])))


def _finished(runner: JobRunner, job_id: str):
    return eventually(lambda: runner.get(job_id), lambda job: job.is_finished)


def _leave_a_job_as_a_crashed_process_would(workbench: Workbench, params: dict, done: list[int]) -> str:
    """A `running` row whose heartbeat stopped ten minutes ago, and the items it had written."""
    job_id = str(uuid.uuid4())
    workbench.backend.engine.execute(
        f"INSERT INTO {workbench.table('job_runs')} (id, job_type, status, progress, processed_items, total_items, "
        "params, cancel_requested, created_by, heartbeat_at, started_at) VALUES (:id, :job_type, 'running', "
        ":progress, :processed, :total, :params, false, 'gone@example.com', "
        "timestampadd(MINUTE, -10, current_timestamp()), timestampadd(MINUTE, -12, current_timestamp()))",
        {
            "id": job_id,
            "job_type": COUNTING_JOB,
            "progress": len(done) / params["items"],
            "processed": len(done),
            "total": params["items"],
            "params": json.dumps(params),
        },
    )
    workbench.backend.engine.insert_rows(items_table(workbench), pd.DataFrame({"job_id": job_id, "item": done}))
    return job_id


def test_a_job_runs_in_the_background_to_success_with_full_progress_and_its_result(runner, workbench):
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS}, training_sheet_id="ts-1", target_id="tpl-1")
    job = _finished(runner, job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert (job.progress, job.processed_items, job.total_items) == (1.0, ITEMS, ITEMS)
    assert job.result == {"written": ITEMS, "skipped": 0}
    assert job.error is None
    assert (job.training_sheet_id, job.target_id, job.created_by) == ("ts-1", "tpl-1", "tester@example.com")
    assert job.params == {"items": ITEMS}
    assert job.started_at is not None and job.completed_at is not None
    assert items_done(workbench, job_id) == list(range(ITEMS))


def test_progress_is_written_while_the_job_runs(runner):
    gate = _gate()
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "gate": gate, "gate_after": 3})
    running = eventually(lambda: runner.get(job_id), lambda job: job.processed_items > 0)
    assert running.status is JobStatus.RUNNING
    assert 0 < running.processed_items < ITEMS and running.total_items == ITEMS
    assert 0 < running.progress < 1
    GATES[gate].set()
    assert _finished(runner, job_id).status is JobStatus.SUCCEEDED


def test_cancelling_a_running_job_stops_it_before_all_items_are_done(runner, workbench):
    gate = _gate()
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "gate": gate, "gate_after": 4})
    eventually(lambda: items_done(workbench, job_id), lambda done: len(done) == 4)
    assert runner.cancel(job_id).cancel_requested
    job = _finished(runner, job_id)
    assert job.status is JobStatus.CANCELLED
    assert job.processed_items == 4 and job.progress == pytest.approx(4 / ITEMS)
    assert job.result == {"written": 4, "skipped": 0}
    assert items_done(workbench, job_id) == [0, 1, 2, 3]


def test_a_cancel_written_by_another_process_is_seen_by_the_running_job(runner, workbench):
    gate = _gate()
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "gate": gate, "gate_after": 2})
    eventually(lambda: items_done(workbench, job_id), lambda done: len(done) == 2)  # waiting at its gate
    assert JobRunsStore(workbench.backend.engine, workbench.table("job_runs")).request_cancel(job_id, "ops@mirion.example")
    assert _finished(runner, job_id).status is JobStatus.CANCELLED
    assert items_done(workbench, job_id) == [0, 1]


def test_a_job_left_running_by_a_crashed_process_is_interrupted_and_resumes_without_duplicates(runner, workbench):
    job_id = _leave_a_job_as_a_crashed_process_would(workbench, {"items": ITEMS}, done=[0, 1, 2, 3, 4])
    assert runner.recover_interrupted() == [job_id]
    interrupted = runner.get(job_id)
    assert interrupted.status is JobStatus.INTERRUPTED and interrupted.can_resume
    assert interrupted.processed_items == 5

    assert runner.resume(job_id) == job_id
    job = _finished(runner, job_id)
    assert job.status is JobStatus.SUCCEEDED
    assert job.result == {"written": ITEMS - 5, "skipped": 5}
    assert (job.processed_items, job.progress) == (ITEMS, 1.0)
    assert items_done(workbench, job_id) == list(range(ITEMS))
    assert [j.id for j in runner.recent()] == [job_id]


def test_reading_a_job_whose_process_is_gone_shows_it_interrupted(runner, workbench):
    job_id = _leave_a_job_as_a_crashed_process_would(workbench, {"items": ITEMS}, done=[0])
    assert runner.get(job_id).status is JobStatus.INTERRUPTED
    assert runner.recover_interrupted() == []


def test_recovery_leaves_the_jobs_this_process_is_running_alone(runner):
    gate = _gate()
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "gate": gate, "gate_after": 1})
    eventually(lambda: runner.get(job_id), lambda job: job.status is JobStatus.RUNNING)
    assert runner.recover_interrupted() == []
    assert runner.get(job_id).status is JobStatus.RUNNING
    GATES[gate].set()
    assert _finished(runner, job_id).status is JobStatus.SUCCEEDED


def test_a_failing_job_records_the_domain_error_message_as_is(runner):
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "fail": "validation", "fail_after": 3})
    job = _finished(runner, job_id)
    assert job.status is JobStatus.FAILED
    assert job.error == "The source table mirion_vital.raw.invoices no longer exists."
    assert job.processed_items == 3 and job.result is None


def test_an_unexpected_exception_is_recorded_with_its_type(runner):
    job = _finished(runner, runner.submit(COUNTING_JOB, {"items": ITEMS, "fail": "crash", "fail_after": 0}))
    assert (job.status, job.error) == (JobStatus.FAILED, "RuntimeError: disk full")


def test_a_failed_job_resumes_under_the_same_id_and_finishes_the_rest(runner, workbench):
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "fail": "once", "fail_after": 7})
    assert _finished(runner, job_id).error == "ConnectionError: the model endpoint did not answer"
    runner.resume(job_id)
    job = _finished(runner, job_id)
    assert (job.status, job.error, job.result) == (JobStatus.SUCCEEDED, None, {"written": 5, "skipped": 7})
    assert items_done(workbench, job_id) == list(range(ITEMS))


def test_only_an_interrupted_failed_or_cancelled_job_can_be_resumed(runner):
    job_id = runner.submit(COUNTING_JOB, {"items": 2})
    assert _finished(runner, job_id).status is JobStatus.SUCCEEDED
    with pytest.raises(ValidationError, match="This job is succeeded; only an interrupted"):
        runner.resume(job_id)


def test_at_most_the_allowed_number_of_jobs_run_at_once_and_the_rest_wait_queued(runner):
    tracker, gate = str(uuid.uuid4()), _gate()
    TRACKERS[tracker] = Tracker()
    params = {"items": 3, "gate": gate, "gate_after": 0, "tracker": tracker}
    job_ids = [runner.submit(COUNTING_JOB, params) for _ in range(MAX_CONCURRENT_JOBS + 1)]
    eventually(lambda: TRACKERS[tracker].running, lambda running: running == MAX_CONCURRENT_JOBS)
    statuses = sorted(runner.get(job_id).status for job_id in job_ids)
    assert statuses == sorted([JobStatus.RUNNING] * MAX_CONCURRENT_JOBS + [JobStatus.QUEUED])
    GATES[gate].set()
    assert {_finished(runner, job_id).status for job_id in job_ids} == {JobStatus.SUCCEEDED}
    assert TRACKERS[tracker].most == MAX_CONCURRENT_JOBS


def test_cancelling_a_queued_job_cancels_it_at_once_and_it_never_runs(runner, workbench):
    gate = _gate()
    busy = [runner.submit(COUNTING_JOB, {"items": 1, "gate": gate, "gate_after": 0}) for _ in range(MAX_CONCURRENT_JOBS)]
    waiting = runner.submit(COUNTING_JOB, {"items": ITEMS})
    eventually(lambda: [runner.get(j).status for j in busy], lambda s: s == [JobStatus.RUNNING] * MAX_CONCURRENT_JOBS)
    job = runner.cancel(waiting)
    assert job.status is JobStatus.CANCELLED and job.started_at is None
    GATES[gate].set()
    assert runner.wait(waiting, WAIT_S).status is JobStatus.CANCELLED
    assert items_done(workbench, waiting) == []


def test_cancelling_a_finished_job_changes_nothing(runner):
    job_id = runner.submit(COUNTING_JOB, {"items": 1})
    before = _finished(runner, job_id)
    assert runner.cancel(job_id) == before


def test_unknown_job_types_and_bad_params_are_refused_and_nothing_is_written(runner):
    with pytest.raises(ValidationError, match="does not know how to run 'teleport' jobs"):
        runner.submit("teleport", {})
    with pytest.raises(ValidationError, match="how many items"):
        runner.submit(COUNTING_JOB, {"items": -1})
    assert runner.recent() == []


def test_an_unknown_job_id_is_not_found(runner):
    with pytest.raises(NotFoundError):
        runner.get("no-such-job")
    with pytest.raises(NotFoundError):
        runner.cancel("no-such-job")


def test_recent_jobs_filter_by_training_sheet_and_type(runner):
    first = runner.submit(COUNTING_JOB, {"items": 1}, training_sheet_id="ts-1")
    second = runner.submit(COUNTING_JOB, {"items": 1}, training_sheet_id="ts-2")
    for job_id in (first, second):
        _finished(runner, job_id)
    assert [j.id for j in runner.recent(training_sheet_id="ts-1")] == [first]
    assert {j.id for j in runner.recent(job_type=COUNTING_JOB)} == {first, second}
    assert runner.recent(job_type="export") == []


def test_a_job_stuck_in_one_long_step_keeps_its_heartbeat_fresh(runner, monkeypatch):
    monkeypatch.setattr("services.core.jobs.HEARTBEAT_INTERVAL_S", 0.01)
    gate = _gate()
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "gate": gate, "gate_after": 1})
    first = eventually(lambda: runner.get(job_id), lambda job: job.status is JobStatus.RUNNING).heartbeat_at
    eventually(lambda: runner.get(job_id).heartbeat_at, lambda beat: beat > first)
    GATES[gate].set()
    assert _finished(runner, job_id).status is JobStatus.SUCCEEDED


def test_heartbeats_progress_and_cancel_writing_one_row_at_once_never_conflict(runner, workbench, monkeypatch):
    monkeypatch.setattr("services.core.jobs.HEARTBEAT_INTERVAL_S", 0.0005)
    monkeypatch.setattr("services.core.jobs.PROGRESS_WRITE_INTERVAL_S", 0.0)
    job_id = runner.submit(COUNTING_JOB, {"items": 60})
    eventually(lambda: runner.get(job_id), lambda job: job.processed_items >= 30)
    runner.cancel(job_id)
    job = _finished(runner, job_id)
    assert (job.status, job.error) == (JobStatus.CANCELLED, None)
    assert 30 <= job.processed_items < 60


def test_a_job_cancelled_and_resumed_by_other_people_records_who(runner, workbench):
    gate = _gate()
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "gate": gate, "gate_after": 2})
    eventually(lambda: items_done(workbench, job_id), lambda done: len(done) == 2)
    JobRunner(_as(workbench, "dana@mirion.example")).cancel(job_id)
    cancelled = _finished(runner, job_id)
    assert (cancelled.status, cancelled.created_by, cancelled.cancelled_by) == (JobStatus.CANCELLED, "tester@example.com", "dana@mirion.example")
    GATES[gate].set()
    JobRunner(_as(workbench, "erin@mirion.example")).resume(job_id)
    resumed = _finished(runner, job_id)
    assert resumed.status is JobStatus.SUCCEEDED
    assert (resumed.created_by, resumed.cancelled_by, resumed.resumed_by) == ("tester@example.com", "dana@mirion.example", "erin@mirion.example")
    assert resumed.resumed_at is not None
