"""Optimization runs in a worker process: DSPy's MLflow autologging is process-wide (the tracking
URI, the active run, DSPy's callbacks), so each run gets a process serving it alone, where
`mlflow.dspy.autolog` traces a run launched with `trace_calls` to the run's own store
(data_access/tracking/dspy_autolog.py) and is off for the others.

A worker is kept for the next run: DSPy (and MLflow, once a run traced) is imported once per worker, not
once per run; two runs at once use two, and one idle worker is kept. The worker is its own
program (`python -m services.dspy.worker`), not a fork or a spawn of the app, so nothing of the
app's main script runs in it. It gets plain records (the dataset, the config, the settings that
reach the model, where its traces go), never the store, which stays with the app's process; it
reports progress, hears Cancel, and answers the outcome or why it failed. A worker that dies or
stops answering fails its run with the reason, and is replaced.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from data_access.identity import User
from data_access.settings import Settings
from data_access.tracking.dspy_autolog import TraceDestination
from services.dspy.optimize import Optimized
from services.dspy.records import DspyDataset, RunConfig

POLL_S = 0.2  # how soon a Cancel reaches the worker and a dead worker is noticed
CANCEL_GRACE_S = 30.0  # a cancelled run stops at its next model call; past this the worker is killed
CONNECT_TIMEOUT_S = 60.0  # a new worker imports the workbench before it connects
IDLE_KEPT = 1  # warm workers kept between runs (each holds DSPy and MLflow, about 270 MB)
_AUTHKEY_ENV = "WORKBENCH_DSPY_WORKER_KEY"
_CANCEL = "cancel"
_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class OptimizationTask:
    dataset: DspyDataset
    config: RunConfig
    settings: Settings
    user: User
    concurrency: int
    traces: TraceDestination | None  # None: the run's model calls are not traced


class WorkerFailed(RuntimeError):
    """The run failed in the worker, or the worker stopped; the message says which."""

    def __init__(self, message: str, cancelled: bool) -> None:
        super().__init__(message)
        self.cancelled = cancelled


class _Unreachable(Exception):
    """The worker was gone before it took the task: the run may try a new one."""


class _Worker:
    def __init__(self) -> None:
        authkey = secrets.token_bytes(32)
        folder = tempfile.mkdtemp(prefix="dspy-worker-")  # private to this user: the socket is reachable by no one else
        address = os.path.join(folder, "socket")
        try:
            with Listener(address, family="AF_UNIX", authkey=authkey) as listener:
                environment = {**os.environ, _AUTHKEY_ENV: authkey.hex(),
                               "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
                self._process = subprocess.Popen([sys.executable, "-m", "services.dspy.worker", address], cwd=_ROOT, env=environment)
                self._conn = self._accept(listener)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _accept(self, listener: Listener) -> Connection:
        accepted: queue.Queue[Connection] = queue.Queue()

        def accept() -> None:
            with suppress(OSError):  # the listener closed: the worker never connected
                accepted.put(listener.accept())

        threading.Thread(target=accept, daemon=True).start()
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while time.monotonic() < deadline and self.alive:
            try:
                return accepted.get(timeout=POLL_S)
            except queue.Empty:
                continue
        self._process.kill()
        raise WorkerFailed(f"The optimizer's worker process did not start (exit code {self._process.poll()}).", False)

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def run(self, task: OptimizationTask, report: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Optimized:
        try:
            self._conn.send(task)
        except OSError as error:
            raise _Unreachable() from error
        cancel_sent_at: float | None = None
        while True:
            if cancel_sent_at is None and cancelled():
                self._send_cancel()
                cancel_sent_at = time.monotonic()
            if cancel_sent_at is not None and time.monotonic() - cancel_sent_at > CANCEL_GRACE_S:
                self.stop()
                raise WorkerFailed(f"The optimizer's worker did not stop within {CANCEL_GRACE_S:.0f} s of Cancel; it was ended.", True)
            if not self._conn.poll(POLL_S):
                if not self.alive:
                    raise WorkerFailed(f"The optimizer's worker process stopped (exit code {self._process.poll()}).", cancel_sent_at is not None)
                continue
            try:
                kind, *payload = self._conn.recv()
            except (EOFError, OSError):
                raise WorkerFailed("The optimizer's worker process stopped while it ran.", cancel_sent_at is not None) from None
            if kind == "progress":
                report(*payload)
            elif kind == "done":
                return payload[0]
            else:
                raise WorkerFailed(payload[1], payload[0] or cancel_sent_at is not None)

    def _send_cancel(self) -> None:
        with suppress(OSError):  # already gone: the run's loop notices
            self._conn.send(_CANCEL)

    def stop(self) -> None:
        self._conn.close()
        if self.alive:
            self._process.kill()
        self._process.wait()


class WorkerPool:
    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    @contextmanager
    def worker(self) -> Iterator[_Worker]:
        worker = self._take()
        try:
            yield worker
        except WorkerFailed:
            self._release(worker)  # the worker answered why its run failed, or stopped
            raise
        except BaseException:
            worker.stop()  # mid-conversation: its next message would belong to this run
            raise
        else:
            self._release(worker)

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                worker.stop()
        return _Worker()

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive and len(self._idle) < IDLE_KEPT:
                self._idle.append(worker)
                return
        worker.stop()


_pool = WorkerPool()


def run_in_worker(task: OptimizationTask, report: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Optimized:
    """The task's optimization in a worker process; WorkerFailed with the reason it failed."""
    for _ in range(2):  # a kept worker may have died while idle: the run then takes a new one
        with _pool.worker() as worker:
            try:
                return worker.run(task, report, cancelled)
            except _Unreachable:
                worker.stop()
    raise WorkerFailed("No optimizer worker process could be reached.", False)


# -- in the worker process --------------------------------------------------------------
def serve(conn: Connection) -> None:
    """The worker's main loop: one task at a time, until the app closes its end. One reader
    thread owns the connection's incoming side: it queues tasks and turns "cancel", or the app
    going away, into the running task's Cancel."""
    tasks: queue.Queue[OptimizationTask | None] = queue.Queue()
    cancel = threading.Event()
    threading.Thread(target=_read, args=(conn, tasks, cancel), daemon=True).start()
    while (task := tasks.get()) is not None:
        cancel.clear()  # a Cancel the previous run sent as it ended came before this task: it is not this run's
        _answer(conn, task, cancel)


def _read(conn: Connection, tasks: queue.Queue[OptimizationTask | None], cancel: threading.Event) -> None:
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the app went away: stop what runs, then exit
            cancel.set()
            tasks.put(None)
            return
        if message == _CANCEL:
            cancel.set()
        elif isinstance(message, OptimizationTask):
            tasks.put(message)


def _answer(conn: Connection, task: OptimizationTask, cancel: threading.Event) -> None:
    from data_access.dspy.engine import cancelled_within
    from data_access.llm.configured import configured_chat_model
    from data_access.tracking.dspy_autolog import autologged
    from services.dspy.optimize import optimize

    sending = threading.Lock()  # progress comes from the scoring threads

    def send(message: tuple[Any, ...]) -> None:
        with sending:
            try:
                conn.send(message)
            except OSError:
                cancel.set()  # the app went away

    try:
        model = configured_chat_model(task.settings, task.user, task.dataset.template.base_model)
        if model is None:
            raise RuntimeError("No language model is configured for the optimizer's worker.")
        with autologged(task.traces):
            outcome = optimize(task.dataset, task.config, model, task.concurrency, lambda n, total: send(("progress", n, total)), cancel.is_set)
        send(("done", outcome))
    except Exception as error:  # the run's failure is the app's to record; the worker serves the next one
        send(("failed", cancelled_within(error) or cancel.is_set(), f"{type(error).__name__}: {error}"))


if __name__ == "__main__":
    # Through the module, not this __main__ copy of it: the tasks unpickle as the module's classes.
    from services.dspy import worker

    worker.serve(Client(sys.argv[1], family="AF_UNIX", authkey=bytes.fromhex(os.environ.pop(_AUTHKEY_ENV))))
