"""Optimization runs in a worker process: DSPy's MLflow autologging is process-wide (the tracking
URI, the active run, DSPy's callbacks), so each run gets a process serving it alone, where
`mlflow.dspy.autolog` traces it to the run's own store (data_access/tracking/dspy_autolog.py).

Workers are kept for the next run: DSPy and MLflow are imported once per worker (about 3 s), not
once per run. A run needs one worker at a time; two runs at once use two. The worker gets plain
records (the dataset, the config, the settings to reach the model and the trace destination), never
the store, which stays with the app's process; it reports progress, hears Cancel, and answers the
outcome or why it failed. A worker that dies fails its run with the reason, and is replaced.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from data_access.identity import User
from data_access.settings import Settings
from data_access.tracking.dspy_autolog import TraceDestination
from services.dspy.optimize import Optimized
from services.dspy.records import DspyDataset, RunConfig

POLL_S = 0.2  # how soon a Cancel reaches the worker and a dead worker is noticed
_CANCEL = "cancel"


@dataclass(frozen=True)
class OptimizationTask:
    dataset: DspyDataset
    config: RunConfig
    settings: Settings
    user: User
    concurrency: int
    traces: TraceDestination | None  # None: WORKBENCH_DSPY_TRACES=off


class WorkerFailed(RuntimeError):
    """The run failed in the worker; the message is the worker's own error."""

    def __init__(self, message: str, cancelled: bool) -> None:
        super().__init__(message)
        self.cancelled = cancelled


class _Worker:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # a fork would copy the app's threads and open store
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(child,), name="dspy-optimizer", daemon=True)
        self._process.start()
        child.close()

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def run(self, task: OptimizationTask, report: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Optimized:
        self._conn.send(task)
        asked_to_cancel = False
        while True:
            if not asked_to_cancel and cancelled():
                self._conn.send(_CANCEL)
                asked_to_cancel = True
            if not self._conn.poll(POLL_S):
                if not self.alive:
                    raise WorkerFailed(f"The optimizer's worker process stopped (exit code {self._process.exitcode}).", asked_to_cancel)
                continue
            try:
                kind, *payload = self._conn.recv()
            except (EOFError, OSError):
                raise WorkerFailed("The optimizer's worker process stopped while it ran.", asked_to_cancel) from None
            if kind == "progress":
                report(*payload)
            elif kind == "done":
                return payload[0]
            else:
                raise WorkerFailed(payload[1], payload[0] or asked_to_cancel)

    def stop(self) -> None:
        self._conn.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()


class WorkerPool:
    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    @contextmanager
    def worker(self) -> Iterator[_Worker]:
        with self._lock:
            while self._idle and not self._idle[-1].alive:
                self._idle.pop()
            worker = self._idle.pop() if self._idle else _Worker()
        try:
            yield worker
        except WorkerFailed:
            if not worker.alive:
                raise
            self._release(worker)
            raise
        except BaseException:
            worker.stop()  # mid-conversation: its next message would belong to this run
            raise
        else:
            self._release(worker)

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)


_pool = WorkerPool()


def run_in_worker(task: OptimizationTask, report: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Optimized:
    """The task's optimization in a worker process; WorkerFailed with the worker's reason."""
    with _pool.worker() as worker:
        return worker.run(task, report, cancelled)


# -- in the worker process --------------------------------------------------------------
def serve(conn: Connection) -> None:
    """The worker's main loop: one task at a time, until the app closes its end."""
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if isinstance(task, OptimizationTask):
            _answer(conn, task)


def _answer(conn: Connection, task: OptimizationTask) -> None:
    from data_access.dspy.engine import cancelled_within
    from data_access.llm.configured import configured_chat_model
    from data_access.tracking.dspy_autolog import autologged
    from services.dspy.optimize import optimize

    sending = threading.Lock()  # progress comes from the scoring threads

    def send(message: tuple[Any, ...]) -> None:
        with sending:
            conn.send(message)

    cancel, finished = threading.Event(), threading.Event()
    listener = threading.Thread(target=_hear_cancel, args=(conn, cancel, finished), daemon=True)
    listener.start()
    try:
        model = configured_chat_model(task.settings, task.user, task.dataset.template.base_model)
        if model is None:
            raise RuntimeError("No language model is configured for the optimizer's worker.")
        with autologged(task.traces):
            outcome = optimize(task.dataset, task.config, model, task.concurrency, lambda n, total: send(("progress", n, total)), cancel.is_set)
        send(("done", outcome))
    except Exception as error:  # the run's failure is the app's to record; the worker serves the next one
        send(("failed", cancelled_within(error) or cancel.is_set(), f"{type(error).__name__}: {error}"))
    finally:
        finished.set()
        listener.join()


def _hear_cancel(conn: Connection, cancel: threading.Event, finished: threading.Event) -> None:
    while not finished.is_set():
        if conn.poll(POLL_S) and conn.recv() == _CANCEL:
            cancel.set()
