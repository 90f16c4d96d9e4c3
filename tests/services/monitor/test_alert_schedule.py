"""The alert schedule: rules evaluated soon after the log writer flushes rows (off the request
path) and on its own tick, with deliveries reaching a real loopback receiver."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from data_access.sql.duckdb_engine import release_home
from data_access.webhooks.sender import HttpWebhookSender
from services.core.workbench import forget_prepared_stores
from services.deploy.inference_log import InferenceLogStore, InferenceLogWriter
from services.monitor.alert_events import AlertEventsStore
from services.monitor.alert_rules import AlertRulesService
from services.monitor.alert_schedule import AlertSchedule, start_server_alert_schedule, stop_alert_schedules
from tests.fakes.webhook_receiver import running_receiver
from tests.services.monitor.test_alert_rules import draft
from tests.services.monitor.test_traffic import row

WAIT_S = 10.0  # how long a test waits for the background thread before it fails


def wait_for(received: list, count: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_rows_flushed_by_the_log_writer_are_evaluated_and_the_alert_delivered(workbench):
    with running_receiver() as receiver:
        AlertRulesService(workbench).create(draft(webhook_url=receiver.url))
        schedule = AlertSchedule(workbench, HttpWebhookSender(timeout_s=1.0), every_s=3600, settle_s=0.05)
        writer = InferenceLogWriter(InferenceLogStore(workbench))
        try:
            for i in range(4):
                writer.add(row(i, datetime.now(UTC), 5.0, 500))
            wait_for(receiver.received, 1)
        finally:
            writer.stop()
            schedule.stop()
    assert [(p["event"], p["endpoint"], p["observed"]) for p in receiver.received] == [("fired", "urgency", 1.0)]
    assert AlertEventsStore(workbench).events()[0].delivery == "delivered"


def test_the_tick_evaluates_every_rule_without_new_rows(workbench):
    InferenceLogStore(workbench).append([row(i, datetime.now(UTC) - timedelta(minutes=1), 5.0, 500) for i in range(3)])
    with running_receiver() as receiver:
        AlertRulesService(workbench).create(draft(webhook_url=receiver.url))
        schedule = AlertSchedule(workbench, HttpWebhookSender(timeout_s=1.0), every_s=0.1)
        try:
            wait_for(receiver.received, 1)
            time.sleep(0.3)  # a few more ticks: the open event is not delivered again
        finally:
            schedule.stop()
    assert [p["event"] for p in receiver.received] == ["fired"]


def test_a_stopped_schedule_no_longer_hears_the_log(workbench):
    with running_receiver() as receiver:
        AlertRulesService(workbench).create(draft(webhook_url=receiver.url))
        AlertSchedule(workbench, HttpWebhookSender(timeout_s=1.0), every_s=3600, settle_s=0.0).stop()
        writer = InferenceLogWriter(InferenceLogStore(workbench))
        writer.add(row(1, datetime.now(UTC), 5.0, 500))
        writer.stop()
    assert receiver.received == [] and AlertEventsStore(workbench).events() == []


def test_the_server_starts_one_schedule_on_the_embedded_store_and_none_on_databricks(settings, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(settings.home))
    monkeypatch.setenv("WORKBENCH_DEMO_DATA", "0")
    monkeypatch.delenv("WORKBENCH_BACKEND", raising=False)
    monkeypatch.delenv("DATABRICKS_WAREHOUSE_ID", raising=False)
    try:
        started = start_server_alert_schedule()
        assert started is not None and start_server_alert_schedule() is started
    finally:
        stop_alert_schedules()
        forget_prepared_stores()
        release_home(settings.home)
    monkeypatch.setenv("WORKBENCH_BACKEND", "databricks")
    monkeypatch.setenv("DATABRICKS_WAREHOUSE_ID", "abc123")
    assert start_server_alert_schedule() is None  # no person to act as until someone opens a page
