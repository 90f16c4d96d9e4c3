"""An endpoint's traffic over a time window, from the inference log, aggregated in SQL: requests
per time bucket, latency percentiles (approximate, as `percentile_approx` computes them on both
engines) and the error rate. A request counts as an error when its status is 400 or above:
refusals by a guardrail, a full queue, a timeout and model failures alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from services.core.workbench import Workbench
from services.monitor.log_source import LogSources


class Window(Enum):
    """How far back to look, and the bucket that keeps a chart to a few dozen points."""

    HOUR = ("Last hour", timedelta(hours=1), "MINUTE")
    DAY = ("Last 24 hours", timedelta(days=1), "HOUR")
    WEEK = ("Last 7 days", timedelta(days=7), "HOUR")
    MONTH = ("Last 30 days", timedelta(days=30), "DAY")

    def __init__(self, title: str, span: timedelta, bucket: str) -> None:
        self.title = title
        self.span = span
        self.bucket = bucket


@dataclass(frozen=True)
class LoggedEndpoint:
    name: str
    versions: tuple[str, ...]
    requests: int


@dataclass(frozen=True)
class TrafficSummary:
    requests: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


@dataclass(frozen=True)
class TrafficBucket:
    start: datetime
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests


_AGGREGATES = (
    "count(*) AS requests, count_if(status_code >= 400) AS errors, percentile_approx(latency_ms, 0.5) AS p50, "
    "percentile_approx(latency_ms, 0.95) AS p95, percentile_approx(latency_ms, 0.99) AS p99"
)
_FILTER = "endpoint_name = :endpoint AND created_at >= :since AND (:version IS NULL OR model_version = :version)"


class TrafficService:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._table = workbench.table("inference_log")
        self._sources = LogSources(workbench)  # a Model Serving endpoint's requests are in its inference table

    def endpoints(self) -> list[LoggedEndpoint]:
        """Every endpoint the log or an inference table has requests for, with the versions that answered them."""
        rows = self._engine.query(
            f"SELECT endpoint_name, model_version, count(*) AS requests FROM {self._table} "
            "GROUP BY endpoint_name, model_version ORDER BY endpoint_name, model_version"
        ) + self._sources.served_request_counts()
        by_name: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_name.setdefault(row["endpoint_name"], []).append(row)
        return [
            LoggedEndpoint(name, tuple(str(r["model_version"]) for r in found if r["model_version"] is not None), sum(int(r["requests"]) for r in found))
            for name, found in by_name.items()
        ]

    def _params(self, endpoint: str, version: str | None, window: Window, now: datetime | None) -> dict[str, Any]:
        return {"endpoint": endpoint, "version": version, "since": (now or datetime.now(UTC)) - window.span}

    def summary(self, endpoint: str, version: str | None, window: Window, now: datetime | None = None) -> TrafficSummary:
        row = self._engine.query_one(f"SELECT {_AGGREGATES} FROM {self._sources.relation(endpoint)} WHERE {_FILTER}", self._params(endpoint, version, window, now))
        return TrafficSummary(int(row["requests"] or 0), int(row["errors"] or 0), row["p50"], row["p95"], row["p99"])

    def over_time(self, endpoint: str, version: str | None, window: Window, now: datetime | None = None) -> list[TrafficBucket]:
        """One row per bucket that had requests (a quiet bucket is absent, not zero-filled)."""
        rows = self._engine.query(
            f"SELECT date_trunc('{window.bucket}', created_at) AS bucket, {_AGGREGATES} FROM {self._sources.relation(endpoint)} WHERE {_FILTER} "
            "GROUP BY date_trunc('" + window.bucket + "', created_at) ORDER BY bucket",
            self._params(endpoint, version, window, now),
        )
        return [TrafficBucket(r["bucket"], int(r["requests"]), int(r["errors"]), r["p50"], r["p95"], r["p99"]) for r in rows]
