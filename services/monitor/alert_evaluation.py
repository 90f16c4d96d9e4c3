"""Evaluating alert rules: each enabled rule's metric over its window, against its threshold.

A breach opens an alert event when the rule has none open (one open event per rule, however
often the breach is seen); a measurement back within the threshold resolves the open event. A
window with nothing to measure (no requests for a rate or a percentile) changes nothing. Each
change is delivered to the rule's webhook, and the delivery's outcome recorded; a failing
webhook, or a rule whose evaluation fails, never stops the other rules.

Evaluations in one process take turns (the schedule, a log flush and "Evaluate now" may meet),
so two of them cannot both see a rule without an open event and open two.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from data_access.webhooks.sender import HttpWebhookSender, WebhookSender
from services.core.workbench import Workbench
from services.monitor.alert_events import AlertEventsStore
from services.monitor.alert_metrics import AlertMetrics
from services.monitor.alert_records import AlertRule, DeliveryEvent, Measurement, Transition
from services.monitor.alert_rules import AlertRulesService

log = logging.getLogger(__name__)

_turns = threading.Lock()


def alert_message(rule: AlertRule, measurement: Measurement, kind: DeliveryEvent) -> str:
    value = rule.metric.format(measurement.value or 0.0)
    threshold = rule.metric.format(rule.threshold)
    window = f"the last {rule.window_minutes} min ({measurement.requests:,} requests)"
    if kind is DeliveryEvent.FIRED:
        return f"{rule.metric.title} of {rule.endpoint_name} was {value} over {window}, {rule.comparison.value} the threshold of {threshold}."
    return f"{rule.metric.title} of {rule.endpoint_name} is back to {value} over {window}, within the threshold of {threshold}."


def webhook_payload(rule: AlertRule, transition: Transition, message: str, at: datetime) -> dict[str, Any]:
    return {
        "event": transition.kind.value, "alert_id": transition.event_id, "rule_id": rule.id, "rule_name": rule.name,
        "endpoint": rule.endpoint_name, "metric": rule.metric.value, "comparison": rule.comparison.value,
        "threshold": rule.threshold, "observed": transition.measurement.value, "requests": transition.measurement.requests,
        "window_minutes": rule.window_minutes, "message": message, "at": at.isoformat(),
    }


class AlertEvaluator:
    def __init__(self, workbench: Workbench, sender: WebhookSender) -> None:
        self._wb = workbench
        self._rules = AlertRulesService(workbench)
        self._events = AlertEventsStore(workbench)
        self._sender = sender

    def evaluate(self, now: datetime | None = None, endpoints: set[str] | None = None) -> list[Transition]:
        """Evaluate every enabled rule (or those watching `endpoints`); what opened or resolved."""
        with _turns:
            now = now or datetime.now(UTC)
            rules = self._rules.enabled_rules(endpoints)
            metrics = AlertMetrics(self._wb)
            open_ids = self._events.open_event_ids([r.id for r in rules])
            changes = []
            for rule in rules:
                try:
                    change = self._evaluate_rule(rule, metrics, open_ids.get(rule.id), now)
                except Exception:  # one rule's failure (a store hiccup) must not stop the others
                    log.exception("Alert rule %s could not be evaluated", rule.id)
                    continue
                if change is not None:
                    changes.append(change)
            return changes

    def _evaluate_rule(self, rule: AlertRule, metrics: AlertMetrics, open_id: str | None, now: datetime) -> Transition | None:
        measurement = metrics.measure(rule, now)
        if measurement.value is None:
            return None
        breached = rule.comparison.breached(measurement.value, rule.threshold)
        if breached and open_id is None:
            message = alert_message(rule, measurement, DeliveryEvent.FIRED)
            change = Transition(rule, self._events.open(rule, measurement.value, message, now), DeliveryEvent.FIRED, measurement)
        elif not breached and open_id is not None:
            message = alert_message(rule, measurement, DeliveryEvent.RESOLVED)
            self._events.resolve(open_id, measurement.value, now)
            change = Transition(rule, open_id, DeliveryEvent.RESOLVED, measurement)
        else:
            return None
        self._deliver(rule, change, message, now)
        return change

    def _deliver(self, rule: AlertRule, change: Transition, message: str, now: datetime) -> None:
        if not rule.webhook_url:
            return
        result = self._sender.send(rule.webhook_url, webhook_payload(rule, change, message, now))
        try:
            self._events.record_delivery(change.event_id, rule.id, change.kind, rule.webhook_url, result)
        except Exception:  # the event stands; only the record of its delivery is missing
            log.exception("Delivery of alert %s could not be recorded", change.event_id)


def evaluate_now(workbench: Workbench) -> list[Transition]:
    """Every enabled rule, now, delivering to the rules' webhooks over HTTP ("Evaluate now" on MONITOR)."""
    return AlertEvaluator(workbench, HttpWebhookSender()).evaluate()
