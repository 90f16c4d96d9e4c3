"""MONITOR over a Model Serving endpoint's AI Gateway inference table: the same traffic queries
and alert rules read it through the log source seam, on the Databricks SQL path (the DB-API
fake), beside the workbench's own inference log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from data_access.webhooks.sender import HttpWebhookSender
from services.core.workbench import Workbench
from services.deploy.inference_log import InferenceLogStore
from services.monitor.alert_evaluation import AlertEvaluator
from services.monitor.alert_records import AlertMetric
from services.monitor.alert_rules import AlertRulesService
from services.monitor.traffic import TrafficService, Window
from tests.monitor_databricks_builders import T0, deploy_serving, log_payload, workspace_and_workbench
from tests.services.monitor.test_alert_rules import draft
from tests.services.monitor.test_traffic import row

NOW = T0 + timedelta(minutes=30)


@pytest.fixture
def workbench() -> Iterator[Workbench]:
    with workspace_and_workbench() as (_, wb):
        yield wb


@pytest.fixture
def served(workbench) -> TrafficService:
    """Four requests to `defects` (two served entities, one refused) and one to a local endpoint."""
    deploy_serving(workbench)
    log_payload(workbench, [(1, 200, "crack", "defects-1", 10), (2, 200, "chip", "defects-1", 20),
                            (3, 200, "crack", "defects-2", 30), (14, 429, None, "defects-2", 40)])
    InferenceLogStore(workbench).append([row(1, NOW - timedelta(minutes=1), 5.0)])
    return TrafficService(workbench)


def test_the_endpoint_list_holds_inference_table_endpoints_with_their_served_entities(served):
    endpoints = {e.name: e for e in served.endpoints()}
    assert (endpoints["defects"].versions, endpoints["defects"].requests) == (("defects-1", "defects-2"), 4)
    assert endpoints["urgency"].requests == 1


def test_the_summary_and_buckets_come_from_the_inference_table(served):
    summary = served.summary("defects", None, Window.HOUR, NOW)
    assert (summary.requests, summary.errors, summary.error_rate) == (4, 1, 0.25)
    assert summary.p50_ms == pytest.approx(20, abs=10) and summary.p99_ms == pytest.approx(40)
    assert served.summary("defects", "defects-2", Window.HOUR, NOW).requests == 2
    assert [(b.start.minute, b.requests) for b in served.over_time("defects", None, Window.HOUR, NOW)] == [(1, 1), (2, 1), (3, 1), (14, 1)]
    assert served.summary("urgency", None, Window.HOUR, NOW).requests == 1  # a local endpoint still reads the log


def test_an_endpoint_whose_inference_table_is_not_created_yet_has_no_requests(workbench):
    deploy_serving(workbench, "quiet", inference_table="mirion_vital.workbench.quiet_payload")
    traffic = TrafficService(workbench)
    assert traffic.endpoints() == []


def test_an_alert_rule_watches_an_inference_table_endpoint(workbench, served):
    AlertRulesService(workbench).create(draft(endpoint_name="defects", threshold=0.2, window_minutes=30))
    AlertRulesService(workbench).create(draft(name="Slow", endpoint_name="defects", metric=AlertMetric.LATENCY_P95, threshold=100))
    [fired] = AlertEvaluator(workbench, HttpWebhookSender()).evaluate(NOW)
    assert (fired.rule.name, fired.measurement.value, fired.measurement.requests) == ("Errors", 0.25, 4)
