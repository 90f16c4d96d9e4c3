"""Which part of the inference log a MONITOR view reads: an endpoint, a model version (or all) and
a time window ending now. Every MONITOR query filters the log the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any


class Window(Enum):
    """How far back to look, and the bucket that keeps a chart to a few dozen points."""

    HOUR = ("Last hour", timedelta(hours=1), "MINUTE", 60)
    DAY = ("Last 24 hours", timedelta(days=1), "HOUR", 3600)
    WEEK = ("Last 7 days", timedelta(days=7), "HOUR", 3600)
    MONTH = ("Last 30 days", timedelta(days=30), "DAY", 86400)

    def __init__(self, title: str, span: timedelta, bucket: str, bucket_seconds: int) -> None:
        self.title = title
        self.span = span
        self.bucket = bucket
        self.bucket_seconds = bucket_seconds


# `l` is the inference log's alias in every MONITOR query.
LOG_FILTER = "l.endpoint_name = :endpoint AND l.created_at >= :since AND (:version IS NULL OR l.model_version = :version)"
ANSWERED = "l.status_code < 400"  # a refused or failed request has no prediction to judge


@dataclass(frozen=True)
class LogScope:
    endpoint: str
    version: str | None
    window: Window
    now: datetime | None = None  # None: the time of the query

    def params(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "version": self.version, "since": (self.now or datetime.now(UTC)) - self.window.span}

    def for_version(self, version: str | None) -> LogScope:
        return LogScope(self.endpoint, version, self.window, self.now)

    @property
    def title(self) -> str:
        return f"{self.endpoint} v{self.version}" if self.version else self.endpoint
