"""The records of MONITOR alerts: rules (a metric of an endpoint's traffic over a trailing
window, compared with a threshold), the alert events they open and close, and deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AlertMetric(StrEnum):
    ERROR_RATE = "error_rate"  # share of requests answered with status 400 or above
    LATENCY_P95 = "latency_p95_ms"  # approximate 95th percentile of latency, in ms
    REQUEST_COUNT = "request_count"  # requests in the window; "below" catches an endpoint gone quiet

    @property
    def title(self) -> str:
        return {"error_rate": "Error rate", "latency_p95_ms": "Latency p95", "request_count": "Request count"}[self.value]

    def format(self, value: float) -> str:
        if self is AlertMetric.ERROR_RATE:
            return f"{value:.1%}"
        if self is AlertMetric.LATENCY_P95:
            return f"{value:,.0f} ms"
        return f"{value:,.0f}"


class Comparison(StrEnum):
    ABOVE = "above"
    BELOW = "below"

    def breached(self, value: float, threshold: float) -> bool:
        return value > threshold if self is Comparison.ABOVE else value < threshold


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DeliveryEvent(StrEnum):
    FIRED = "fired"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertRuleDraft:
    """What a person fills in to create or edit a rule."""

    name: str
    endpoint_name: str
    metric: AlertMetric
    comparison: Comparison
    threshold: float
    window_minutes: int
    webhook_url: str | None = None


@dataclass(frozen=True)
class AlertRule:
    id: str
    name: str
    endpoint_name: str
    metric: AlertMetric
    comparison: Comparison
    threshold: float
    window_minutes: int
    webhook_url: str | None
    enabled: bool
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    row_version: int

    def describe(self) -> str:
        return (f"{self.metric.title} of {self.endpoint_name} over {self.window_minutes} min "
                f"{self.comparison.value} {self.metric.format(self.threshold)}")


@dataclass(frozen=True)
class Measurement:
    """A metric over a rule's window; `value` is None when the window holds nothing to measure it on."""

    value: float | None
    requests: int


@dataclass(frozen=True)
class AlertEvent:
    id: str
    rule_id: str
    endpoint_name: str
    metric: AlertMetric
    threshold: float
    observed: float
    message: str
    status: AlertStatus
    created_at: datetime
    resolved_at: datetime | None
    recovered_value: float | None
    delivery: str | None  # the latest delivery's outcome: "delivered", "failed: why"; None without a webhook


@dataclass(frozen=True)
class Transition:
    """What an evaluation changed: an event opened (fired) or an open one resolved."""

    rule: AlertRule
    event_id: str
    kind: DeliveryEvent
    measurement: Measurement


@dataclass(frozen=True)
class AlertDelivery:
    event: DeliveryEvent
    url: str
    status: str  # delivered, failed
    attempts: int
    http_status: int | None
    error: str | None
    created_at: datetime
