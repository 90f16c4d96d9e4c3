"""The job progress component in a tiny app, against real jobs in the test's own store.

AppTest runs fragments inline in every (full) run and has no browser timer, so `run_every`
never fires here: each `run()` is what a refresh of the page would show.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from services.core.domain.job import JobStatus
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from tests.job_works import COUNTING_JOB, GATES, create_items_table, eventually, items_done, stop_all_jobs
from tests.pages.conftest import PAGE_TIMEOUT_S

ITEMS = 8


def _job_page(workbench, job_id, unit="items"):
    import streamlit as st

    from components import job_progress
    from services.core.jobs import JobRunner

    job = job_progress.show(JobRunner(workbench), job_id, key="job", unit=unit)
    st.caption(f"shown: {job.status if job else 'nothing'}")


@pytest.fixture
def runner(workbench: Workbench) -> Iterator[JobRunner]:
    create_items_table(workbench)
    runner = JobRunner(workbench)
    yield runner
    stop_all_jobs(runner)


def _page(workbench: Workbench, job_id: str, unit: str = "items") -> AppTest:
    app = AppTest.from_function(_job_page, args=(workbench, job_id, unit), default_timeout=PAGE_TIMEOUT_S)
    return app.run()


def _finished(runner: JobRunner, job_id: str):
    return eventually(lambda: runner.get(job_id), lambda job: job.is_finished)


def test_a_finished_job_shows_a_full_bar_and_no_buttons(runner, workbench):
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS})
    assert _finished(runner, job_id).status is JobStatus.SUCCEEDED
    app = _page(workbench, job_id)
    assert not app.exception
    assert [(p.value, p.text) for p in app.progress] == [(100, "8 of 8 items · succeeded")]
    assert [b.key for b in app.button] == []
    assert [c.value for c in app.caption] == ["shown: succeeded"]


def test_a_job_counting_steps_says_what_it_counts(runner, workbench):
    job_id = runner.submit(COUNTING_JOB, {"items": 3})
    _finished(runner, job_id)
    assert [p.text for p in _page(workbench, job_id, unit="kinds of signal").progress] == ["3 of 3 kinds of signal · succeeded"]


def test_a_failed_job_shows_its_error_and_resume_finishes_it_without_duplicates(runner, workbench):
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "fail": "once", "fail_after": 5})
    assert _finished(runner, job_id).status is JobStatus.FAILED
    app = _page(workbench, job_id)
    assert not app.exception
    assert [p.text for p in app.progress] == ["5 of 8 items · failed"]
    assert [e.value for e in app.error] == ["ConnectionError: the model endpoint did not answer"]
    assert [b.label for b in app.button] == ["Resume"]

    app = app.button(key="job_resume").click().run()
    assert not app.exception
    assert _finished(runner, job_id).status is JobStatus.SUCCEEDED
    assert items_done(workbench, job_id) == list(range(ITEMS))
    app = app.run()
    assert [p.text for p in app.progress] == ["8 of 8 items · succeeded"]
    assert app.error == [] and [b.key for b in app.button] == []
    assert any(c.value.startswith("Started by tester@example.com · resumed by tester@example.com at ") for c in app.caption)


def test_a_running_job_can_be_cancelled_from_its_bar(runner, workbench):
    gate = str(uuid.uuid4())
    GATES[gate] = threading.Event()
    job_id = runner.submit(COUNTING_JOB, {"items": ITEMS, "gate": gate, "gate_after": 3})
    eventually(lambda: items_done(workbench, job_id), lambda done: len(done) == 3)
    app = _page(workbench, job_id)
    assert not app.exception
    (bar,) = app.progress
    assert bar.text in {f"{n} of 8 items · running" for n in (1, 2, 3)}  # progress writes are spaced out
    assert [b.label for b in app.button] == ["Cancel"]

    app.button(key="job_cancel").click().run()
    assert _finished(runner, job_id).status is JobStatus.CANCELLED
    app = app.run()
    assert [p.text for p in app.progress] == ["3 of 8 items · cancelled"]
    assert [b.label for b in app.button] == ["Resume"]
    assert "Started by tester@example.com · cancelled by tester@example.com" in [c.value for c in app.caption]


def test_a_job_that_does_not_exist_says_so(runner, workbench):
    app = _page(workbench, "no-such-job")
    assert not app.exception
    assert [w.value for w in app.warning] == ["Job no-such-job does not exist."]
    assert [c.value for c in app.caption] == ["shown: nothing"]
