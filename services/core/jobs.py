"""Long work (generation, export, training, optimization) run as jobs in the app process.

A job is a row in `job_runs` and a daemon thread that runs its work, so a page never waits
for it: the page submits, shows the progress the thread writes, and may cancel or resume.

Work is resumable by contract: run with the same params again, it skips what it already did
(generation skips items that already have pairs). So resuming an interrupted, failed or
cancelled job re-runs its work under the same job id (a link to the job stays valid) and
nothing is duplicated. Resuming is a person's decision, never automatic at start-up: the
resumed work runs with the credentials of whoever resumes it, not those of the first
visitor after a restart.

Work must call `context.report` outside `engine.transaction()`: inside one, the progress
write would join the work's uncommitted transaction and the page would not see it.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.core.domain.job import JobRun, JobStatus
from services.core.errors import NotFoundError, StaleWriteError, ValidationError, WorkbenchError
from services.core.job_runs_store import JobRunsStore
from services.core.workbench import Workbench

log = logging.getLogger(__name__)

MAX_CONCURRENT_JOBS = 2  # the app runs on 2 cores: a third job would only slow the others and the pages
PROGRESS_WRITE_INTERVAL_S = 1.0  # the progress bar refreshes once a second; more writes would go unseen
CANCEL_CHECK_INTERVAL_S = 1.0  # how soon a Cancel from another process is seen (this process: at once)
HEARTBEAT_INTERVAL_S = 5.0  # one cheap UPDATE per job; STALE_HEARTBEAT_S is then many missed beats
STALE_HEARTBEAT_S = 60  # 12 missed beats: a busy warehouse can hold a statement in its queue that long
RECENT_JOBS_LIMIT = 20
_QUEUE_WAIT_S = 0.5  # how often a job waiting for a slot looks whether it was cancelled


class JobContext:
    """What running work sees of its job: its params, a progress reporter and the cancel flag."""

    def __init__(self, job: JobRun, store: JobRunsStore, cancel_event: threading.Event) -> None:
        self.job_id = job.id
        self.params = job.params
        self._store = store
        self._cancel_event = cancel_event
        self._processed = job.processed_items  # a resumed job shows its old count until the work reports
        self._total = job.total_items
        self._last_write = -math.inf
        self._last_check = -math.inf
        self._saw_cancel = False

    def report(self, processed: int, total: int) -> None:
        """Items done so far (counting those done by an earlier run) out of all items."""
        if processed < 0 or total < 0:
            raise ValueError(f"Progress cannot be negative: {processed} of {total}.")
        self._processed, self._total = processed, total
        now = time.monotonic()
        if processed >= total or now - self._last_write >= PROGRESS_WRITE_INTERVAL_S:
            self._store.report_progress(self.job_id, processed, total, self.progress)
            self._last_write = now

    def cancelled(self) -> bool:
        """Whether someone asked this job to stop; the work should return soon after True."""
        if not self._saw_cancel:
            if self._cancel_event.is_set():
                self._saw_cancel = True
            elif time.monotonic() - self._last_check >= CANCEL_CHECK_INTERVAL_S:
                self._last_check = time.monotonic()
                self._saw_cancel = self._store.cancel_requested(self.job_id)
        return self._saw_cancel

    @property
    def processed(self) -> int:
        return self._processed

    @property
    def total(self) -> int | None:
        return self._total

    @property
    def progress(self) -> float:
        return min(1.0, self._processed / self._total) if self._total else 0.0

    @property
    def saw_cancel(self) -> bool:
        return self._saw_cancel


class JobWork(Protocol):
    def run(self, context: JobContext) -> dict[str, Any]:
        """Do the work (skipping what an earlier run did) and return a summary of the result."""


JobFactory = Callable[[Workbench, dict[str, Any]], JobWork]
_factories: dict[str, JobFactory] = {}


def register_job_type(job_type: str, factory: JobFactory) -> None:
    """Called by the module that defines the work, at import; registering again replaces it.

    The factory checks the params and raises ValidationError before anything is written.
    """
    _factories[job_type] = factory


def _work_for(workbench: Workbench, job_type: str, params: dict[str, Any]) -> JobWork:
    factory = _factories.get(job_type)
    if factory is None:
        raise ValidationError(f"This app does not know how to run '{job_type}' jobs.", "job_type")
    return factory(workbench, params)


# -- what this process is running (shared by every JobRunner, whoever it acts for) --------
@dataclass
class _LiveJob:
    cancel_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


_slots = threading.BoundedSemaphore(MAX_CONCURRENT_JOBS)
_live: dict[str, _LiveJob] = {}
_live_lock = threading.Lock()


def _register_live(job_id: str) -> tuple[_LiveJob, _LiveJob | None]:
    """The new entry, and the one it replaced (a resumed job's previous thread, on its way out)."""
    live = _LiveJob()
    with _live_lock:
        previous = _live.get(job_id)
        _live[job_id] = live
    return live, previous


def _forget_live(job_id: str, live: _LiveJob, previous: _LiveJob | None = None) -> None:
    with _live_lock:
        if _live.get(job_id) is live:
            if previous is not None and previous.thread is not None and previous.thread.is_alive():
                _live[job_id] = previous  # a resume that lost its race must not hide the winner's thread
            else:
                del _live[job_id]


def _live_job(job_id: str) -> _LiveJob | None:
    with _live_lock:
        return _live.get(job_id)


class _Pulse:
    """Beats a job's heartbeat while its thread lives, however long one step of the work takes."""

    def __init__(self, store: JobRunsStore, job_id: str) -> None:
        self._store = store
        self._job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"pulse-{job_id}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_INTERVAL_S):
            try:
                self._store.heartbeat(self._job_id)
            except Exception:  # a missed beat is harmless; only many in a row mark the job interrupted
                log.warning("Heartbeat of job %s failed", self._job_id, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def new_job_id() -> str:
    return str(uuid.uuid4())


class JobRunner:
    """Submits, watches, cancels and resumes jobs; cheap to create, one per workbench is fine."""

    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._store = JobRunsStore(workbench.backend.engine, workbench.table("job_runs"))
        # DuckDB locks its file to one process, so on the embedded store an unfinished job this
        # process is not running was left by a process that is gone: no need to wait for its
        # heartbeat to age. A warehouse may be shared by several app processes.
        self._stale_after_s = STALE_HEARTBEAT_S if workbench.settings.is_databricks else 0

    # -- starting --------------------------------------------------------------------
    def submit(
        self, job_type: str, params: dict[str, Any], *, training_sheet_id: str | None = None, target_id: str | None = None,
        job_id: str | None = None, work: JobWork | None = None,
    ) -> str:
        """Queue the work and start it in the background; returns the job id at once. `job_id`:
        one the caller took from `new_job_id()` and recorded on its own row before the work
        starts (an UPDATE after the start would race the work's own writes to that row). `work`:
        the work the caller already built from these params (what it checked need not be
        checked twice); a resume builds it again from the params."""
        params = json.loads(json.dumps(params))  # the work sees what a resume will read back
        work = work or _work_for(self._wb, job_type, params)
        job_id = job_id or new_job_id()
        live, _ = _register_live(job_id)  # before the row exists: nobody may see it queued and not live
        try:
            self._store.insert(job_id, job_type, params, training_sheet_id, target_id, self._wb.user.email)
        except BaseException:
            _forget_live(job_id, live)
            raise
        self._start(job_id, job_type, work, live)
        return job_id

    def resume(self, job_id: str) -> str:
        """Run an interrupted, failed or cancelled job's work again, under the same id."""
        job = self.get(job_id)
        if not job.can_resume:
            raise ValidationError(f"This job is {job.status}; only an interrupted, failed or cancelled job can be resumed.")
        work = _work_for(self._wb, job.job_type, job.params)
        live, previous = _register_live(job_id)
        if not self._store.requeue(job_id, self._wb.user.email):
            _forget_live(job_id, live, previous)
            raise StaleWriteError("Someone else resumed this job a moment ago; it is running again.")
        self._start(job_id, job.job_type, work, live)
        return job_id

    def _start(self, job_id: str, job_type: str, work: JobWork, live: _LiveJob) -> None:
        live.thread = threading.Thread(target=self._run, args=(job_id, work, live), name=f"job-{job_id}", daemon=True)
        log.info("Starting %s job %s", job_type, job_id)
        live.thread.start()

    # -- the job's thread ------------------------------------------------------------
    def _run(self, job_id: str, work: JobWork, live: _LiveJob) -> None:
        pulse = _Pulse(self._store, job_id)
        try:
            if self._wait_for_slot(live):
                try:
                    # A cancel while it waited, or a resume that superseded this thread, ends it here;
                    # claim() also refuses a job cancelled by another process meanwhile.
                    superseded = live.cancel_event.is_set() or _live_job(job_id) is not live
                    if not superseded and self._store.claim(job_id):
                        job = self._store.get(job_id)
                        if job is not None:
                            self._execute(job, work, live)
                finally:
                    _slots.release()
        except Exception:  # the row stays unfinished and reads as interrupted once this thread is gone
            log.exception("Job %s could not record its outcome", job_id)
        finally:
            pulse.stop()
            _forget_live(job_id, live)

    @staticmethod
    def _wait_for_slot(live: _LiveJob) -> bool:
        while not _slots.acquire(timeout=_QUEUE_WAIT_S):
            if live.cancel_event.is_set():
                return False
        return True

    def _execute(self, job: JobRun, work: JobWork, live: _LiveJob) -> None:
        context = JobContext(job, self._store, live.cancel_event)
        try:
            result = json.loads(json.dumps(work.run(context)))
        except WorkbenchError as error:
            self._finish(context, JobStatus.FAILED, error=str(error))
        except Exception as error:
            log.exception("%s job %s failed", job.job_type, job.id)
            self._finish(context, JobStatus.FAILED, error=f"{type(error).__name__}: {error}")
        else:
            status = JobStatus.CANCELLED if context.saw_cancel else JobStatus.SUCCEEDED
            self._finish(context, status, result=result)

    def _finish(
        self, context: JobContext, status: JobStatus, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        # Written here rather than trusted to the last report, which the write interval may have held back.
        progress = 1.0 if status is JobStatus.SUCCEEDED else context.progress
        self._store.finish(context.job_id, status, context.processed, context.total, progress, result, error)
        log.info("Job %s %s", context.job_id, status)

    # -- watching and stopping -------------------------------------------------------
    def get(self, job_id: str) -> JobRun:
        """The job as stored; one whose process is gone reads as interrupted."""
        job = self._store.get(job_id)
        if job is None:
            raise NotFoundError(f"Job {job_id} does not exist.")
        if not job.is_finished and _live_job(job_id) is None:
            self._store.mark_interrupted([job_id], self._stale_after_s)
            job = self._store.get(job_id) or job
        return job

    def recent(
        self, limit: int = RECENT_JOBS_LIMIT, *, training_sheet_id: str | None = None, job_type: str | None = None
    ) -> list[JobRun]:
        """Newest first; jobs whose process is gone read as interrupted."""
        self.recover_interrupted()
        return self._store.recent(limit, training_sheet_id, job_type)

    def cancel(self, job_id: str) -> JobRun:
        """A queued job is cancelled at once; a running one stops at its next check. A finished job is left as is."""
        self.get(job_id)
        if self._store.request_cancel(job_id, self._wb.user.email):
            live = _live_job(job_id)
            if live is not None:
                live.cancel_event.set()
        return self.get(job_id)

    def wait(self, job_id: str, timeout_s: float) -> JobRun:
        """Block until this process's thread for the job ends or the timeout passes (scripts, CLI)."""
        live = _live_job(job_id)
        if live is not None and live.thread is not None:
            live.thread.join(timeout_s)
        return self.get(job_id)

    def recover_interrupted(self) -> list[str]:
        """Mark unfinished jobs that no process is running any more as interrupted; returns their ids."""
        candidates = [i for i in self._store.stale_unfinished(self._stale_after_s) if _live_job(i) is None]
        if not candidates:
            return []
        self._store.mark_interrupted(candidates, self._stale_after_s)
        return self._store.interrupted_among(candidates)
