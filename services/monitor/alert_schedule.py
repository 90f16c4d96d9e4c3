"""Alert rules evaluated in the background: on a schedule, and soon after log rows arrive.

One thread per store and process. The inference log writer tells it which endpoints got rows
(on the writer's thread, so it only notes them and wakes this one); the thread evaluates the
rules of those endpoints, and every rule once per EVALUATE_EVERY_S, so a rule on request count
notices an endpoint gone quiet, and a rate rule recovers when its bad requests leave the window.
Nothing here runs on a request's path; a failed evaluation is logged and the next one tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from data_access.webhooks.sender import HttpWebhookSender, WebhookSender
from services.core.store_threads import PerStore
from services.core.workbench import Workbench
from services.deploy.inference_log import listen_for_logged_rows
from services.deploy.records import InferenceRecord
from services.monitor.alert_evaluation import AlertEvaluator

log = logging.getLogger(__name__)

EVALUATE_EVERY_S = 60.0  # the shortest rule window is a minute: evaluating more often would see the same rows
# A burst of log batches (one per quarter second under load) is evaluated once, this soon after its first rows.
SETTLE_S = 1.0


class AlertSchedule:
    def __init__(self, workbench: Workbench, sender: WebhookSender | None = None, every_s: float = EVALUATE_EVERY_S,
                 settle_s: float = SETTLE_S) -> None:
        self._evaluator = AlertEvaluator(workbench, sender or HttpWebhookSender())
        self._every_s = every_s
        self._settle_s = settle_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._endpoints: set[str] = set()
        self._stop_listening: Callable[[], None] = listen_for_logged_rows(workbench, self._logged)
        self._thread = threading.Thread(target=self._run, name="alert-schedule", daemon=True)
        self._thread.start()

    def _logged(self, batch: list[InferenceRecord]) -> None:
        with self._lock:
            self._endpoints.update(r.endpoint_name for r in batch if r.endpoint_name)
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            woken = self._wake.wait(self._every_s)
            if self._stopping.is_set():
                return
            if woken:
                self._stopping.wait(self._settle_s)  # let the rest of a burst land first
            self._wake.clear()
            with self._lock:
                endpoints, self._endpoints = self._endpoints, set()
            try:
                # The schedule's tick evaluates every rule; a wake-up only the rules of endpoints that got rows.
                self._evaluator.evaluate(endpoints=endpoints if woken else None)
            except Exception:  # the store was busy or gone: the next tick tries again
                log.exception("Alert rules could not be evaluated")

    def stop(self) -> None:
        self._stop_listening()
        self._stopping.set()
        self._wake.set()
        self._thread.join()


_schedules: PerStore[AlertSchedule] = PerStore(AlertSchedule)


def start_alert_schedule(workbench: Workbench) -> AlertSchedule:
    """The store's schedule in this process, started on first call."""
    return _schedules.start(workbench)


def stop_alert_schedules() -> None:
    _schedules.stop_all()


def start_server_alert_schedule() -> AlertSchedule | None:
    """At server start, the embedded store's schedule (services/core/store_threads.py: none on
    Databricks; there a person evaluates the rules with "Evaluate now" on MONITOR, as themselves)."""
    return _schedules.start_on_server("alert rules are evaluated when MONITOR is opened")
