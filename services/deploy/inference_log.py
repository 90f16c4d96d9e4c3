"""The inference log: every request to a local endpoint becomes a row, written in batches by a
background thread so a request never waits for the store.

Requests hand their record to a queue and return; the writer takes what has gathered (up to a
batch, or whatever came within a short wait) and appends it in one set-based insert. A clean
stop drains the queue before the thread ends, so nothing accepted is lost; a failed insert is
retried, never split into single rows (the batch is all-or-nothing, so no row is written twice).

A later stage (MONITOR's alert rules) may listen for written rows: the writer thread tells each
listener of a store which rows it just wrote, after the insert, so the request path never waits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict

import pandas as pd

from services.core.store_threads import store_key
from services.core.workbench import Workbench
from services.deploy.records import InferenceRecord

log = logging.getLogger(__name__)

BATCH_ROWS = 500  # one insert per batch: DuckDB and a warehouse both prefer few large appends
FLUSH_WAIT_S = 0.25  # how long a lone record may wait for company before it is written
# Records waiting to be written. Far above any burst a CPU-served model can answer; past it a
# request waits for room rather than dropping its record.
MAX_PENDING = 100_000
INSERT_ATTEMPTS = 5
RETRY_PAUSE_S = 0.5


LoggedRowsListener = Callable[[list[InferenceRecord]], None]
_listeners: dict[tuple[str, str], list[LoggedRowsListener]] = {}
_listeners_lock = threading.Lock()


def listen_for_logged_rows(workbench: Workbench, listener: LoggedRowsListener) -> Callable[[], None]:
    """Call `listener` with each batch written to this store's log; returns what stops it.
    The listener runs on the writer's thread: it should hand the work on, not do it."""
    key = store_key(workbench)
    with _listeners_lock:
        _listeners.setdefault(key, []).append(listener)

    def stop() -> None:
        with _listeners_lock:
            if listener in _listeners.get(key, []):
                _listeners[key].remove(listener)

    return stop


def _tell_listeners(key: tuple[str, str], batch: list[InferenceRecord]) -> None:
    with _listeners_lock:
        listeners = list(_listeners.get(key, []))
    for listener in listeners:
        try:
            listener(batch)
        except Exception:  # a listener's failure must never cost the log a row
            log.exception("An inference log listener failed")


class InferenceLogStore:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._table = workbench.table("inference_log")
        self.key = store_key(workbench)

    def append(self, records: list[InferenceRecord]) -> int:
        frame = pd.DataFrame([asdict(r) for r in records])
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        return self._engine.insert_rows(self._table, frame)

    def count(self, endpoint_name: str) -> int:
        return int(self._engine.scalar(f"SELECT count(*) AS n FROM {self._table} WHERE endpoint_name = :name", {"name": endpoint_name}) or 0)

    def recent(self, endpoint_name: str, limit: int = 20) -> list[dict]:
        return self._engine.query(
            "SELECT created_at, request_id, status_code, latency_ms, prediction, guardrails_passed, guardrails, requester, source, "
            f"model_version, error FROM {self._table} WHERE endpoint_name = :name ORDER BY created_at DESC LIMIT :limit",
            {"name": endpoint_name, "limit": limit},
        )


class InferenceLogWriter:
    def __init__(self, store: InferenceLogStore) -> None:
        self._store = store
        self._pending: queue.Queue[InferenceRecord | None] = queue.Queue(maxsize=MAX_PENDING)
        self._stopped = False
        self._accepting = threading.Lock()  # a record is queued before the stop's marker, or written at once
        self._thread = threading.Thread(target=self._run, name="inference-log-writer", daemon=True)
        self._thread.start()

    def add(self, record: InferenceRecord) -> None:
        with self._accepting:
            if not self._stopped:
                self._pending.put(record)
                return
        # After a stop (the server shutting down) a late request's record is written at once.
        self._write([record])

    def stop(self) -> None:
        """Write everything accepted so far, then end the thread."""
        with self._accepting:
            if self._stopped:
                return
            self._stopped = True
            self._pending.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._pending.get()
            batch = [] if first is None else [first]
            done = first is None
            deadline = time.monotonic() + FLUSH_WAIT_S
            while not done and len(batch) < BATCH_ROWS:
                try:
                    record = self._pending.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if record is None:
                    done = True
                else:
                    batch.append(record)
            if done:  # drain whatever arrived before the stop
                while True:
                    try:
                        record = self._pending.get_nowait()
                    except queue.Empty:
                        break
                    if record is not None:
                        batch.append(record)
            for start in range(0, len(batch), BATCH_ROWS):
                self._write(batch[start : start + BATCH_ROWS])
            if done:
                return

    def _write(self, batch: list[InferenceRecord]) -> None:
        for attempt in range(1, INSERT_ATTEMPTS + 1):
            try:
                self._store.append(batch)
            except Exception:  # the store's failure, whatever its type: keep the rows and retry
                if attempt == INSERT_ATTEMPTS:
                    log.exception("Could not write %d inference log rows after %d attempts", len(batch), attempt)
                    return
                time.sleep(RETRY_PAUSE_S * attempt)
            else:
                _tell_listeners(self._store.key, batch)
                return
