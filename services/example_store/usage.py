"""Usage counts, written off the retrieval path.

An UPDATE of `usage_count` cost more than the rest of a search together (27 ms median for five
rows of 100,000 on a loaded machine), so a search hands its ids here and returns; a background
thread adds them up and writes them a moment later, one UPDATE per distinct increment. Every
read of examples in this process flushes first, so a page or a test reads the count it caused.
A count still pending when the process dies is lost: it is a statistic, not a record.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import Counter
from collections.abc import Sequence

from data_access.sql.engine import SqlEngine

log = logging.getLogger(__name__)

FLUSH_WAIT_S = 0.25  # how long counts gather before they are written


class UsageTally:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # a flush waits for a write under way, so it reads that write's counts
        self._pending: dict[tuple[int, str], tuple[SqlEngine, Counter[str]]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, engine: SqlEngine, table: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._lock:
            _, counts = self._pending.setdefault((id(engine), table), (engine, Counter()))
            counts.update(ids)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="example-usage-writer", daemon=True)
                self._thread.start()
        self._wake.set()

    def flush(self, engine: SqlEngine | None = None, table: str | None = None) -> None:
        """Writes what is pending (for one table, or all)."""
        with self._writing:
            with self._lock:
                keys = [k for k in self._pending if table is None or k == (id(engine), table)]
                taken = [(k[1], *self._pending.pop(k)) for k in keys]
            for name, owner, counts in taken:
                _write(owner, name, counts)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            threading.Event().wait(FLUSH_WAIT_S)  # let more searches add to the same UPDATE
            self.flush()


def _write(engine: SqlEngine, table: str, counts: Counter[str]) -> None:
    by_increment: dict[int, list[str]] = {}
    for example_id, n in counts.items():
        by_increment.setdefault(n, []).append(example_id)
    try:
        for n, ids in sorted(by_increment.items()):
            engine.execute(
                f"UPDATE {table} SET usage_count = coalesce(usage_count, 0) + :n WHERE example_id IN (SELECT explode(:ids))",
                {"n": n, "ids": sorted(ids)},
            )
    except Exception as error:  # the store closed or refused: the counts are a statistic, the search already answered
        log.warning("Could not write the usage counts of %d examples to %s: %s", len(counts), table, error)


TALLY = UsageTally()
atexit.register(TALLY.flush)
