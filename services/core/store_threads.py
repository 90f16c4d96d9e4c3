"""Background work the server runs on its embedded store, one thread per store and process
(MONITOR's alert rules, IMPROVE's retrain rules), started once and stopped together.

On Databricks there is none: the server has no person to act as until someone opens a page
(the App proxy names each visitor), and working as whoever came first would reach the
warehouse with their grants; there the pages do the same work as the person who opens them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from data_access.settings import load_settings
from services.core.errors import UnavailableError
from services.core.workbench import Workbench, open_workbench

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


T = TypeVar("T", bound=Stoppable)


def store_key(workbench: Workbench) -> tuple[str, str]:
    return workbench.settings.backend, str(workbench.settings.home.resolve())


class PerStore(Generic[T]):
    """At most one `make(workbench)` per store in this process."""

    def __init__(self, make: Callable[[Workbench], T]) -> None:
        self._make = make
        self._running: dict[tuple[str, str], T] = {}
        self._lock = threading.Lock()

    def start(self, workbench: Workbench) -> T:
        """The store's one, started on first call."""
        key = store_key(workbench)
        with self._lock:
            found = self._running.get(key)
            if found is None:
                found = self._running[key] = self._make(workbench)
            return found

    def stop_all(self) -> None:
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
        for each in running:
            each.stop()

    def start_on_server(self, fallback: str) -> T | None:
        """At server start, the embedded store's one; none on Databricks. `fallback` says where
        the work happens when the store cannot be opened."""
        settings = load_settings()
        if settings.is_databricks:
            return None
        try:
            workbench = open_workbench(settings)
        except UnavailableError:
            log.warning("The store could not be opened: %s", fallback, exc_info=True)
            return None
        return self.start(workbench)
