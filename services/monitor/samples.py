"""Sample predictions: the window's latest requests with what the model said and, where the
request was rendered from a labeled sheet item, what the expert said; one opened in full with
its request, response, trace and the source item it came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.core.errors import NotFoundError, ValidationError
from services.core.workbench import Workbench
from services.data.sheet_items import SheetItem
from services.data.sheets import SheetService
from services.monitor.log_scope import LOG_FILTER, LogScope

# The grid sorts and filters in the browser; a few hundred rows is what a person reads through,
# and keeps the page's payload small on a million-row log.
SAMPLE_ROWS = 300


@dataclass(frozen=True)
class SamplePrediction:
    id: str
    created_at: datetime
    model_version: str | None
    status_code: int
    latency_ms: float
    prediction: str | None
    confidence: float | None
    expected: str | None  # the item's canonical label, when the request came from a labeled item
    source: str | None
    trace_id: str | None


@dataclass(frozen=True)
class LoggedRequest:
    sample: SamplePrediction
    request_id: str | None
    request: str | None
    response: str | None
    error: str | None
    guardrails: str | None
    requester: str | None
    sheet_id: str | None
    item_ref: str | None


_COLUMNS = (
    "l.id, l.created_at, l.model_version, l.status_code, l.latency_ms, l.prediction, l.confidence, c.label_data AS expected, "
    "l.source, l.trace_id"
)


class SampleService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._log = workbench.table("inference_log")
        self._labels = workbench.table("canonical_labels")

    def _labeled(self, log: str | None = None) -> str:
        return (f"{log or self._log} l LEFT JOIN {self._labels} c ON c.sheet_id = l.sheet_id AND c.item_ref = l.item_ref "
                "AND c.label_type = :label_type")

    def recent(self, scope: LogScope, label_type: str | None, limit: int = SAMPLE_ROWS) -> list[SamplePrediction]:
        latest = (  # the newest rows first, then their labels: the join sees a few hundred rows, not the window
            "(SELECT l.id, l.created_at, l.model_version, l.status_code, l.latency_ms, l.prediction, l.confidence, l.source, l.trace_id, "
            f"l.sheet_id, l.item_ref FROM {self._log} l WHERE {LOG_FILTER} ORDER BY l.created_at DESC, l.id LIMIT :limit)"
        )
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._labeled(latest)} ORDER BY l.created_at DESC, l.id",
            {**scope.params(), "label_type": label_type, "limit": limit},
        )
        return [_sample(r) for r in rows]

    def get(self, log_id: str, label_type: str | None) -> LoggedRequest:
        row = self._engine.query_one(
            f"SELECT {_COLUMNS}, l.request_id, l.request, l.response, l.error, l.guardrails, l.requester, l.sheet_id, l.item_ref "
            f"FROM {self._labeled()} WHERE l.id = :id",
            {"id": log_id, "label_type": label_type},
        )
        if row is None:
            raise NotFoundError(f"Request {log_id} is not in the inference log.")
        return LoggedRequest(_sample(row), row["request_id"], row["request"], row["response"], row["error"], row["guardrails"],
                             row["requester"], row["sheet_id"], row["item_ref"])

    def source_item(self, logged: LoggedRequest) -> SheetItem | None:
        return source_item(self._wb, logged.sheet_id, logged.item_ref)


def source_item(workbench: Workbench, sheet_id: str | None, item_ref: str | None) -> SheetItem | None:
    """The sheet item a logged request was rendered from; None when it came from elsewhere or is gone."""
    if not sheet_id or not item_ref:
        return None
    sheets = SheetService(workbench)
    try:
        found = sheets.items_for_refs(sheets.get(sheet_id), [item_ref])
    except (NotFoundError, ValidationError):  # the sheet, or its table, was removed since
        return None
    return found[0] if found else None


def _sample(row: dict[str, Any]) -> SamplePrediction:
    return SamplePrediction(row["id"], row["created_at"], row["model_version"], int(row["status_code"]), float(row["latency_ms"]),
                            row["prediction"], row["confidence"], row["expected"], row["source"], row["trace_id"])
