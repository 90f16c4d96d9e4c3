"""Alert events (the `alerts` table) and their webhook deliveries (`alert_deliveries`).

At most one event per rule is open: the evaluator opens one only when the rule has none, and
resolves it when the metric recovers (see alert_evaluation)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from data_access.webhooks.sender import DeliveryResult
from services.core.workbench import Workbench
from services.monitor.alert_records import AlertDelivery, AlertEvent, AlertMetric, AlertRule, AlertStatus, DeliveryEvent

RECENT_EVENTS = 50  # what MONITOR lists; older events stay in the table

_EVENT_COLUMNS = ("a.id, a.rule_id, a.endpoint_name, a.metric, a.threshold, a.observed, a.message, a.status, a.created_at, "
                  "a.resolved_at, a.recovered_value")


def _event(row: dict[str, Any]) -> AlertEvent:
    delivery = None
    if row.get("delivery_status") is not None:
        delivery = row["delivery_status"] if row["delivery_status"] == "delivered" else f"failed: {row['delivery_error']}"
    return AlertEvent(
        id=row["id"], rule_id=row["rule_id"], endpoint_name=row["endpoint_name"], metric=AlertMetric(row["metric"]),
        threshold=float(row["threshold"]), observed=float(row["observed"]), message=row["message"], status=AlertStatus(row["status"]),
        created_at=row["created_at"], resolved_at=row["resolved_at"], recovered_value=row["recovered_value"], delivery=delivery,
    )


class AlertEventsStore:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._alerts = workbench.table("alerts")
        self._deliveries = workbench.table("alert_deliveries")

    def open_event_ids(self, rule_ids: list[str]) -> dict[str, str]:
        """The open event of each rule that has one, by rule id."""
        if not rule_ids:
            return {}
        rows = self._engine.query(
            f"SELECT rule_id, id FROM {self._alerts} WHERE status = :open AND array_contains(:rules, rule_id)",
            {"open": AlertStatus.OPEN.value, "rules": rule_ids},
        )
        return {r["rule_id"]: r["id"] for r in rows}

    def open(self, rule: AlertRule, observed: float, message: str, at: datetime) -> str:
        event_id = str(uuid.uuid4())
        self._engine.execute(
            f"INSERT INTO {self._alerts} (id, deployment_id, alert_type, severity, metric, threshold, observed, message, status, "
            "created_at, resolved_at, rule_id, endpoint_name, window_minutes, recovered_value) VALUES (:id, NULL, 'rule', 'warning', "
            ":metric, :threshold, :observed, :message, :open, :at, NULL, :rule_id, :endpoint, :window, NULL)",
            {"id": event_id, "metric": rule.metric.value, "threshold": rule.threshold, "observed": observed, "message": message,
             "open": AlertStatus.OPEN.value, "at": at, "rule_id": rule.id, "endpoint": rule.endpoint_name, "window": rule.window_minutes},
        )
        return event_id

    def resolve(self, event_id: str, recovered_value: float, at: datetime) -> None:
        self._engine.execute(
            f"UPDATE {self._alerts} SET status = :resolved, resolved_at = :at, recovered_value = :value WHERE id = :id AND status = :open",
            {"resolved": AlertStatus.RESOLVED.value, "at": at, "value": recovered_value, "id": event_id, "open": AlertStatus.OPEN.value},
        )

    def record_delivery(self, event_id: str, rule_id: str, kind: DeliveryEvent, url: str, result: DeliveryResult) -> None:
        frame = pd.DataFrame([{
            "id": str(uuid.uuid4()), "alert_id": event_id, "rule_id": rule_id, "event": kind.value, "url": url,
            "status": "delivered" if result.delivered else "failed", "attempts": result.attempts, "http_status": result.http_status,
            "error": result.error, "created_at": pd.Timestamp(datetime.now(UTC)),
        }]).astype({"http_status": "Int64"})
        self._engine.insert_rows(self._deliveries, frame)

    def events(self, status: AlertStatus | None = None, endpoint_name: str | None = None, limit: int = RECENT_EVENTS) -> list[AlertEvent]:
        """Newest first, each with its latest delivery's outcome."""
        rows = self._engine.query(
            f"SELECT {_EVENT_COLUMNS}, d.status AS delivery_status, d.error AS delivery_error FROM {self._alerts} a "
            f"LEFT JOIN (SELECT alert_id, status, error, row_number() OVER (PARTITION BY alert_id ORDER BY created_at DESC) AS n "
            f"FROM {self._deliveries}) d ON d.alert_id = a.id AND d.n = 1 "
            "WHERE a.alert_type = 'rule' AND (:status IS NULL OR a.status = :status) AND (:endpoint IS NULL OR a.endpoint_name = :endpoint) "
            "ORDER BY a.created_at DESC LIMIT :limit",
            {"status": None if status is None else status.value, "endpoint": endpoint_name, "limit": limit},
        )
        return [_event(r) for r in rows]

    def deliveries(self, event_id: str) -> list[AlertDelivery]:
        rows = self._engine.query(
            f"SELECT event, url, status, attempts, http_status, error, created_at FROM {self._deliveries} "
            "WHERE alert_id = :id ORDER BY created_at",
            {"id": event_id},
        )
        return [AlertDelivery(DeliveryEvent(r["event"]), r["url"], r["status"], int(r["attempts"]),
                              None if pd.isna(r["http_status"]) else int(r["http_status"]), r["error"], r["created_at"]) for r in rows]
