"""A rule's metric over its trailing window, aggregated in SQL over the endpoint's requests (the
inference log, or a Model Serving endpoint's inference table: see log_source)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.core.workbench import Workbench
from services.monitor.alert_records import AlertMetric, AlertRule, Measurement
from services.monitor.log_source import LogSources


class AlertMetrics:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._sources = LogSources(workbench)  # reads the endpoints once: one AlertMetrics per evaluation

    def measure(self, rule: AlertRule, now: datetime) -> Measurement:
        """The window is (now - window, now]: a request logged at `now` counts, one a window earlier does not."""
        row = self._engine.query_one(
            "SELECT count(*) AS requests, count_if(status_code >= 400) AS errors, percentile_approx(latency_ms, 0.95) AS p95 "
            f"FROM {self._sources.relation(rule.endpoint_name)} AS l WHERE endpoint_name = :endpoint AND created_at > :since AND created_at <= :now",
            {"endpoint": rule.endpoint_name, "since": now - timedelta(minutes=rule.window_minutes), "now": now},
        ) or {}
        requests = int(row.get("requests") or 0)
        if rule.metric is AlertMetric.REQUEST_COUNT:
            return Measurement(float(requests), requests)
        if requests == 0:  # no rate and no percentile of nothing: the rule neither fires nor recovers
            return Measurement(None, 0)
        if rule.metric is AlertMetric.ERROR_RATE:
            return Measurement(int(row["errors"] or 0) / requests, requests)
        return Measurement(float(row["p95"]), requests)
