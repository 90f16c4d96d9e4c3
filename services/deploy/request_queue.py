"""Bounded concurrency for an endpoint: a few workers, a queue of bounded length, and a time
limit per request. A full queue refuses at once (the caller retries) rather than letting
waiting requests pile up; a caller that gave up is not answered by a worker later."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.deploy.serving_errors import EndpointBusyError, EndpointTimeoutError

T = TypeVar("T")


@dataclass
class _Work(Generic[T]):
    run: Callable[[], T]
    future: Future
    deadline: float


class RequestQueue:
    def __init__(self, name: str, workers: int, max_queued: int, timeout_s: float) -> None:
        self._name = name
        self._timeout_s = timeout_s
        self._queue: queue.Queue[_Work | None] = queue.Queue(maxsize=max_queued)
        self._threads = [threading.Thread(target=self._work, name=f"endpoint-{name}-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def run(self, call: Callable[[], T]) -> T:
        """`call`'s result, run by a worker; EndpointBusyError when the queue is full,
        EndpointTimeoutError past the time limit (queue wait included)."""
        future: Future = Future()
        try:
            self._queue.put_nowait(_Work(call, future, time.monotonic() + self._timeout_s))
        except queue.Full:
            raise EndpointBusyError(f"Endpoint {self._name} is busy ({self._queue.maxsize} requests waiting); try again shortly.") from None
        try:
            return future.result(timeout=self._timeout_s)
        except FutureTimeout:
            future.cancel()
            raise EndpointTimeoutError(f"Endpoint {self._name} did not answer within {self._timeout_s:g} s.") from None

    def _work(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            if time.monotonic() > work.deadline or not work.future.set_running_or_notify_cancel():
                continue  # its caller has stopped waiting
            try:
                work.future.set_result(work.run())
            except BaseException as error:  # handed to the caller, who decides
                work.future.set_exception(error)

    def stop(self) -> None:
        """Finish what is queued, then stop the workers."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
