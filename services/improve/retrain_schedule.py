"""Retrain rules checked in the background, as MONITOR's alert rules are (services/monitor/alert_schedule.py).

One thread per store and process checks every enabled rule once per CHECK_EVERY_S; a check that
fails is logged and the next one tries again. On Databricks there is no schedule: the server has
no person to act as until someone opens a page, so there the rules are checked when IMPROVE or
TRAIN is opened, as the person who opened it.
"""

from __future__ import annotations

import logging
import threading

from services.core.store_threads import PerStore
from services.core.workbench import Workbench
from services.improve.retrain import RetrainService

log = logging.getLogger(__name__)

# Experts approve pairs one by one over hours; a retrain takes minutes. Checking every five
# minutes starts one soon after the N-th approval without querying the lineage all the time.
CHECK_EVERY_S = 300.0


class RetrainSchedule:
    def __init__(self, workbench: Workbench, every_s: float = CHECK_EVERY_S) -> None:
        self._service = RetrainService(workbench)
        self._every_s = every_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retrain-schedule", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self._every_s):
            try:
                self._service.check_rules()
            except Exception:  # the store was busy or gone: the next tick tries again
                log.exception("Retrain rules could not be checked")

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


_schedules: PerStore[RetrainSchedule] = PerStore(RetrainSchedule)


def start_retrain_schedule(workbench: Workbench) -> RetrainSchedule:
    """The store's schedule in this process, started on first call."""
    return _schedules.start(workbench)


def stop_retrain_schedules() -> None:
    _schedules.stop_all()


def start_server_retrain_schedule() -> RetrainSchedule | None:
    """At server start, the embedded store's schedule; none on Databricks (services/core/store_threads.py)."""
    return _schedules.start_on_server("retrain rules are checked when IMPROVE or TRAIN is opened")
