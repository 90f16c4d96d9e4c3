"""Alert rules evaluated over constructed inference logs with known answers: a breach opens one
event (however often it is seen), recovery resolves it, an empty window changes nothing, and
every change reaches the rule's webhook (a real loopback receiver) with its delivery recorded;
a failing webhook never breaks evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from data_access.webhooks.sender import HttpWebhookSender
from services.deploy.inference_log import InferenceLogStore
from services.monitor.alert_evaluation import AlertEvaluator
from services.monitor.alert_events import AlertEventsStore
from services.monitor.alert_records import AlertMetric, AlertStatus, Comparison, DeliveryEvent
from services.monitor.alert_rules import AlertRulesService
from tests.fakes.webhook_receiver import running_receiver
from tests.services.monitor.test_alert_rules import draft
from tests.services.monitor.test_traffic import row

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def quick_sender() -> HttpWebhookSender:
    return HttpWebhookSender(timeout_s=1.0, attempts=2, backoff_s=0.01)


def log_minutes(workbench, first: int, minutes: range, latency_ms: float = 10.0, failed_every: int = 0, endpoint: str = "urgency") -> None:
    """One request a minute for `minutes` before NOW; every `failed_every`th one a 500."""
    InferenceLogStore(workbench).append([
        row(first + m, NOW - timedelta(minutes=m), latency_ms, 500 if failed_every and m % failed_every == 0 else 200, endpoint=endpoint)
        for m in minutes
    ])


@pytest.fixture
def evaluator(workbench):
    return AlertEvaluator(workbench, quick_sender())


def test_an_error_rate_above_the_threshold_opens_one_event_with_a_plain_message(workbench, evaluator):
    log_minutes(workbench, 0, range(10), failed_every=5)  # minutes 0 and 5 failed: 2 of 10 = 20 %
    log_minutes(workbench, 100, range(20, 40))  # outside the 15 minute window: answered, not counted
    rule = AlertRulesService(workbench).create(draft(threshold=0.1, window_minutes=15))

    changes = evaluator.evaluate(NOW)
    assert [(c.kind, c.measurement.value, c.measurement.requests) for c in changes] == [(DeliveryEvent.FIRED, 0.2, 10)]
    [event] = AlertEventsStore(workbench).events()
    assert (event.rule_id, event.status, event.observed, event.threshold, event.delivery) == (rule.id, AlertStatus.OPEN, 0.2, 0.1, None)
    assert event.message == "Error rate of urgency was 20.0% over the last 15 min (10 requests), above the threshold of 10.0%."


def test_a_breach_seen_again_keeps_its_one_open_event(workbench, evaluator):
    log_minutes(workbench, 0, range(10), failed_every=1)
    AlertRulesService(workbench).create(draft())
    assert len(evaluator.evaluate(NOW)) == 1
    assert evaluator.evaluate(NOW + timedelta(minutes=1)) == []
    assert len(AlertEventsStore(workbench).events()) == 1


def test_recovery_resolves_the_open_event_and_a_new_breach_opens_another(workbench, evaluator):
    log_minutes(workbench, 0, range(5), latency_ms=2000.0)  # minutes 0..4 before NOW: p95 2,000 ms
    AlertRulesService(workbench).create(draft(metric=AlertMetric.LATENCY_P95, threshold=500, window_minutes=10))
    assert [c.kind for c in evaluator.evaluate(NOW)] == [DeliveryEvent.FIRED]

    # Twenty fast requests in the next ten minutes; the slow ones have left the window by then.
    InferenceLogStore(workbench).append([row(100 + m, NOW + timedelta(minutes=m / 2), 20.0) for m in range(1, 21)])
    [resolved] = evaluator.evaluate(NOW + timedelta(minutes=10))
    assert (resolved.kind, resolved.measurement.value) == (DeliveryEvent.RESOLVED, 20.0)
    [event] = AlertEventsStore(workbench).events()
    assert (event.status, event.recovered_value, event.resolved_at) == (AlertStatus.RESOLVED, 20.0, NOW + timedelta(minutes=10))
    assert event.message.startswith("Latency p95 of urgency was 2,000 ms")

    InferenceLogStore(workbench).append([row(300 + i, NOW + timedelta(minutes=12), 3000.0) for i in range(10)])
    assert [c.kind for c in evaluator.evaluate(NOW + timedelta(minutes=12))] == [DeliveryEvent.FIRED]
    assert [e.status for e in AlertEventsStore(workbench).events()] == [AlertStatus.OPEN, AlertStatus.RESOLVED]


def test_an_empty_window_neither_fires_nor_resolves_a_rate_rule(workbench, evaluator):
    log_minutes(workbench, 0, range(3), failed_every=1)
    AlertRulesService(workbench).create(draft(window_minutes=5))
    assert len(evaluator.evaluate(NOW)) == 1
    assert evaluator.evaluate(NOW + timedelta(hours=2)) == []  # nothing logged since: still open
    assert AlertEventsStore(workbench).events(AlertStatus.OPEN)


def test_a_request_count_below_the_threshold_catches_an_endpoint_gone_quiet(workbench, evaluator):
    log_minutes(workbench, 0, range(30, 60))  # busy until half an hour ago, silent since
    AlertRulesService(workbench).create(draft(metric=AlertMetric.REQUEST_COUNT, comparison=Comparison.BELOW, threshold=1, window_minutes=20))
    [fired] = evaluator.evaluate(NOW)
    assert (fired.kind, fired.measurement.value) == (DeliveryEvent.FIRED, 0.0)


def test_rules_watch_only_their_endpoint_and_disabled_rules_are_skipped(workbench, evaluator):
    log_minutes(workbench, 0, range(10), failed_every=1, endpoint="other")
    rules = AlertRulesService(workbench)
    rules.create(draft())
    off = rules.create(draft(name="Off", endpoint_name="other"))
    rules.set_enabled(off.id, 1, False)
    assert evaluator.evaluate(NOW) == []


def test_each_change_is_posted_to_the_webhook_and_its_delivery_recorded(workbench, evaluator):
    log_minutes(workbench, 0, range(10), failed_every=1)
    with running_receiver() as receiver:
        rule = AlertRulesService(workbench).create(draft(webhook_url=receiver.url))
        [fired] = evaluator.evaluate(NOW)
        log_minutes(workbench, 100, range(-10, 0))  # ten answered requests in the ten minutes after NOW
        evaluator.evaluate(NOW + timedelta(minutes=15))  # the window (NOW, NOW + 15 min] holds only those
    first, second = receiver.received
    assert (first["event"], first["alert_id"], first["rule_id"], first["observed"], first["requests"]) == ("fired", fired.event_id, rule.id, 1.0, 10)
    assert first["message"].startswith("Error rate of urgency was 100.0%") and first["at"] == NOW.isoformat()
    assert (second["event"], second["alert_id"], second["observed"]) == ("resolved", fired.event_id, 0.0)
    events = AlertEventsStore(workbench)
    assert [(d.event, d.status, d.attempts, d.http_status) for d in events.deliveries(fired.event_id)] == [
        (DeliveryEvent.FIRED, "delivered", 1, 200), (DeliveryEvent.RESOLVED, "delivered", 1, 200)]
    assert events.events()[0].delivery == "delivered"


def test_a_failing_webhook_is_recorded_and_evaluation_goes_on(workbench, evaluator):
    log_minutes(workbench, 0, range(10), failed_every=1)
    log_minutes(workbench, 100, range(10), failed_every=1, endpoint="other")
    with running_receiver([500, 500]) as receiver:
        rules = AlertRulesService(workbench)
        rules.create(draft(webhook_url=receiver.url))
        rules.create(draft(name="Other", endpoint_name="other"))
        changes = evaluator.evaluate(NOW)
    assert len(changes) == 2 and len(receiver.received) == 2  # two attempts at the one webhook
    by_endpoint = {e.endpoint_name: e for e in AlertEventsStore(workbench).events()}
    assert by_endpoint["urgency"].delivery.startswith("failed: HTTP 500")
    assert by_endpoint["other"].status is AlertStatus.OPEN and by_endpoint["other"].delivery is None
