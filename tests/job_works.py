"""Test-only work for the job runner, and helpers the job tests share.

`CountingWork` writes one row per numbered item into a table, skipping items a row already
exists for, so running it again under the same job id finishes the rest and duplicates
nothing: the contract real work (generation) keeps. Tests coordinate with it through named
gates (the work waits there until the test opens it) and concurrency trackers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from services.core.errors import ValidationError
from services.core.jobs import JobContext, JobRunner, register_job_type
from services.core.workbench import Workbench

COUNTING_JOB = "test_counting"
ITEMS_TABLE = "job_test_items"
ITEM_SLEEP_S = 0.01  # a little work per item, so a job lasts long enough to be watched
WAIT_S = 30.0  # the bound on any wait for a job to get somewhere; never reached when things work
_POLL_S = 0.02

T = TypeVar("T")


@dataclass
class Tracker:
    """How many CountingWorks sharing this tracker ran at once, at most."""

    running: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)

    def leave(self) -> None:
        with self.lock:
            self.running -= 1


GATES: dict[str, threading.Event] = {}
TRACKERS: dict[str, Tracker] = {}
_failed_once: set[str] = set()


def items_table(workbench: Workbench) -> str:
    return workbench.table(ITEMS_TABLE)


def create_items_table(workbench: Workbench) -> None:
    workbench.backend.engine.execute(f"CREATE TABLE IF NOT EXISTS {items_table(workbench)} (job_id STRING, item INT)")


def items_done(workbench: Workbench, job_id: str) -> list[int]:
    rows = workbench.backend.engine.query(
        f"SELECT item FROM {items_table(workbench)} WHERE job_id = :job_id ORDER BY item", {"job_id": job_id}
    )
    return [r["item"] for r in rows]


class CountingWork:
    """Params: items (how many), and optionally gate + gate_after (wait at the gate before that
    item), tracker (count concurrency), fail ("validation", "crash" or "once") + fail_after."""

    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        if not isinstance(params.get("items"), int) or params["items"] < 0:
            raise ValidationError("Say how many items to count (0 or more).", "items")
        self._wb = workbench
        self._items = params["items"]
        self._gate = GATES.get(params.get("gate", ""))
        self._gate_after = params.get("gate_after", 0)
        self._tracker = TRACKERS.get(params.get("tracker", ""))
        self._fail = params.get("fail")
        self._fail_after = params.get("fail_after", 0)

    def run(self, context: JobContext) -> dict[str, Any]:
        if self._tracker:
            self._tracker.enter()
        try:
            return self._count(context)
        finally:
            if self._tracker:
                self._tracker.leave()

    def _count(self, context: JobContext) -> dict[str, Any]:
        done = set(items_done(self._wb, context.job_id))
        written = 0
        for item in range(self._items):
            if context.cancelled():
                break
            if item in done:
                continue
            if item == self._gate_after and self._gate is not None and not self._wait_at_gate(context):
                break
            if item == self._fail_after:
                self._maybe_fail(context.job_id)
            self._wb.backend.engine.execute(
                f"INSERT INTO {items_table(self._wb)} (job_id, item) VALUES (:job_id, :item)",
                {"job_id": context.job_id, "item": item},
            )
            time.sleep(ITEM_SLEEP_S)
            done.add(item)
            written += 1
            context.report(len(done), self._items)
        context.report(len(done), self._items)
        return {"written": written, "skipped": len(done) - written}

    def _wait_at_gate(self, context: JobContext) -> bool:
        assert self._gate is not None
        while not self._gate.wait(_POLL_S):
            if context.cancelled():
                return False
        return True

    def _maybe_fail(self, job_id: str) -> None:
        if self._fail == "validation":
            raise ValidationError("The source table mirion_vital.raw.invoices no longer exists.")
        if self._fail == "crash":
            raise RuntimeError("disk full")
        if self._fail == "once" and job_id not in _failed_once:
            _failed_once.add(job_id)
            raise ConnectionError("the model endpoint did not answer")


register_job_type(COUNTING_JOB, CountingWork)


def eventually(read: Callable[[], T], done: Callable[[T], bool], timeout_s: float = WAIT_S) -> T:
    """Read until `done` holds, failing (with the last value read) after a generous bound."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Still not there after {timeout_s} s: {value!r}")
        time.sleep(_POLL_S)


def stop_all_jobs(runner: JobRunner) -> None:
    """Cancel what is still going and wait for the threads, so the store can be closed."""
    for job in runner.recent(limit=1000):
        if not job.is_finished:
            runner.cancel(job.id)
        runner.wait(job.id, WAIT_S)
    for gate in GATES.values():
        gate.set()
