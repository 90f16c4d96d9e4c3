"""IMPROVE's feedback queue: what production said about the model, most harmful patterns first.

Severity, plainly: a correction or a thumbs down (the model was wrong) is 3, a low-confidence
answer (the model was unsure) is 2, a thumbs up (worth a look as a confirmed example) is 1.
Impact = severity × how often similar requests occur: the number of queue items whose request is
a near-duplicate of this one (cosine similarity of their sentence embeddings ≥ SIMILAR_AT), so a
pattern seen ten times outranks a one-off and an expert handles each pattern once.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from data_access.embeddings.embedder import Embedder
from data_access.embeddings.factory import open_embedder
from services.core.workbench import Workbench
from services.data.sheet_items import SheetItem
from services.improve.feedback_store import FEEDBACK_COLUMNS, feedback_from_row
from services.improve.records import Feedback, FeedbackKind, FeedbackOrigin, FeedbackStatus
from services.monitor.samples import source_item

WRONG, UNSURE, CONFIRMED = 3, 2, 1
# The queue an expert works through is read whole, embedded and grouped in the app; past this many
# items (newest of the most severe first) the grouping would keep a page waiting for seconds.
MAX_QUEUE_ITEMS = 500
# Two requests this close in meaning (MiniLM cosine) ask the same thing in other words.
SIMILAR_AT = 0.9
# Embedding 500 requests with the CPU model took about 10 s on the loaded 2-core machine, and the
# page reruns on every click: each request's vector is kept (about 1.5 kB), the least recently used
# dropped past this many.
MAX_CACHED_VECTORS = 20_000
LOW_CONFIDENCE_BY = "low-confidence rule"  # who enters a low-confidence answer into the queue

_SEVERITY_SQL = (
    f"CASE WHEN f.feedback_type = '{FeedbackKind.CORRECTION.value}' OR f.feedback_value = 'down' THEN {WRONG} "
    f"WHEN f.feedback_type = '{FeedbackKind.LOW_CONFIDENCE.value}' THEN {UNSURE} ELSE {CONFIRMED} END"
)


@dataclass(frozen=True)
class QueueFilters:
    endpoint: str | None = None
    model_version: str | None = None
    value: str | None = None  # up | down
    kind: FeedbackKind | None = None
    status: FeedbackStatus | None = FeedbackStatus.OPEN


@dataclass(frozen=True)
class QueueItem(Feedback):
    """A feedback row with what the queue shows and ranks it by."""

    severity: int
    request: str  # the last user message of the logged request (the whole request when it has none)
    answer: str | None  # what the model answered
    confidence: float | None
    sheet_id: str | None  # the sheet item the request was rendered from, when it was
    item_ref: str | None


@dataclass(frozen=True)
class QueueGroup:
    """Near-duplicate requests, handled once; the first item is the most severe, newest."""

    items: tuple[QueueItem, ...]

    @property
    def lead(self) -> QueueItem:
        return self.items[0]

    @property
    def severity(self) -> int:
        return max(i.severity for i in self.items)

    @property
    def impact(self) -> int:
        return self.severity * len(self.items)


class FeedbackQueue:
    def __init__(self, workbench: Workbench, embedder: Embedder | None = None) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._embedder = embedder

    def enqueue_low_confidence(self) -> int:
        """Every logged answer below its endpoint's threshold without a low-confidence item yet
        becomes one, in one statement; running it again adds nothing. Returns how many it added."""
        feedback, log, deployments = self._wb.table("feedback"), self._wb.table("inference_log"), self._wb.table("deployments")
        return self._engine.execute(
            f"INSERT INTO {feedback} (id, inference_log_id, model_id, deployment_id, endpoint_name, model_name, model_version, "
            "request_id, trace_id, feedback_type, origin, status, created_by, created_at, version) "
            "SELECT CAST(uuid() AS STRING), l.id, concat(l.model_name, '/', l.model_version), l.deployment_id, l.endpoint_name, "
            "l.model_name, l.model_version, l.request_id, l.trace_id, :kind, :origin, :open, :by, :now, 1 "
            f"FROM {log} l JOIN {deployments} d ON d.endpoint_name = l.endpoint_name AND d.target = 'local' AND d.status = 'ready' "
            "WHERE d.low_confidence_threshold IS NOT NULL AND l.confidence IS NOT NULL AND l.confidence < d.low_confidence_threshold "
            f"AND NOT EXISTS (SELECT 1 FROM {feedback} f WHERE f.inference_log_id = l.id AND f.feedback_type = :kind)",
            {"kind": FeedbackKind.LOW_CONFIDENCE.value, "origin": FeedbackOrigin.LOW_CONFIDENCE.value,
             "open": FeedbackStatus.OPEN.value, "by": LOW_CONFIDENCE_BY, "now": datetime.now(UTC)},
        )

    def items(self, filters: QueueFilters = QueueFilters()) -> list[QueueItem]:
        """The queue's items that pass the filters, most severe first, then those with a correction
        (so one leads its pattern), newest first (low-confidence answers are entered first)."""
        self.enqueue_low_confidence()
        rows = self._engine.query(
            f"SELECT {FEEDBACK_COLUMNS}, {_SEVERITY_SQL} AS severity, l.request, coalesce(l.prediction, l.response) AS answer, l.confidence, l.sheet_id, l.item_ref "
            f"FROM {self._wb.table('feedback')} f JOIN {self._wb.table('inference_log')} l ON l.id = f.inference_log_id "
            "WHERE (:endpoint IS NULL OR f.endpoint_name = :endpoint) AND (:version IS NULL OR f.model_version = :version) "
            "AND (:value IS NULL OR f.feedback_value = :value) AND (:kind IS NULL OR f.feedback_type = :kind) "
            "AND (:status IS NULL OR f.status = :status) "
            "ORDER BY severity DESC, CASE WHEN f.correction IS NULL THEN 1 ELSE 0 END, f.created_at DESC, f.id LIMIT :limit",
            {"endpoint": filters.endpoint, "version": filters.model_version, "value": filters.value,
             "kind": filters.kind.value if filters.kind else None, "status": filters.status.value if filters.status else None,
             "limit": MAX_QUEUE_ITEMS},
        )
        return [_item(r) for r in rows]

    def groups(self, filters: QueueFilters = QueueFilters()) -> list[QueueGroup]:
        """The filtered items with near-duplicate requests grouped, highest impact first."""
        found = self.items(filters)
        if not found:
            return []
        embedder = self._embedder or open_embedder(self._wb.settings)
        return ranked(group_similar(found, _vectors.embed(embedder, [i.request for i in found])))

    def source_item(self, item: QueueItem) -> SheetItem | None:
        """The sheet item the request was rendered from; None when it came from elsewhere or is gone."""
        return source_item(self._wb, item.sheet_id, item.item_ref)

    def choices(self) -> dict[str, list[str]]:
        """The values each filter can take, from what the queue holds."""
        rows = self._engine.query(
            f"SELECT DISTINCT endpoint_name, model_version FROM {self._wb.table('feedback')} ORDER BY endpoint_name, model_version"
        )
        return {"endpoint": sorted({r["endpoint_name"] for r in rows if r["endpoint_name"]}),
                "model_version": sorted({str(r["model_version"]) for r in rows if r["model_version"]})}


class RequestVectors:
    """Request vectors by (model, text), shared by every session of the process."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, embedder.dimension), dtype=np.float32)
        with self._lock:
            known = {t: v for t in texts if (v := self._vectors.get((embedder.name, t))) is not None}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        known |= dict(zip(missing, embedder.embed(missing), strict=True)) if missing else {}
        with self._lock:
            for text in dict.fromkeys(texts):
                self._vectors[(embedder.name, text)] = known[text]
                self._vectors.move_to_end((embedder.name, text))
            while len(self._vectors) > self._limit:
                self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts])


_vectors = RequestVectors(MAX_CACHED_VECTORS)


def group_similar(items: Sequence[QueueItem], vectors: np.ndarray, similar_at: float = SIMILAR_AT) -> list[QueueGroup]:
    """Each item joins the first group whose lead's request is within `similar_at` of its own;
    items come most severe first, so a group's lead is its most severe item."""
    leads: list[int] = []
    members: list[list[QueueItem]] = []
    for index, item in enumerate(items):
        scores = vectors[leads] @ vectors[index] if leads else np.zeros(0)
        best = int(np.argmax(scores)) if len(scores) else -1
        if best >= 0 and scores[best] >= similar_at:
            members[best].append(item)
        else:
            leads.append(index)
            members.append([item])
    return [QueueGroup(tuple(m)) for m in members]


def ranked(groups: Sequence[QueueGroup]) -> list[QueueGroup]:
    return sorted(groups, key=lambda g: (-g.impact, -g.severity, -g.lead.created_at.timestamp()))


def request_prompt(request: str | None) -> str:
    """The last user message of a logged chat request; the request as logged when it has none."""
    try:
        messages = json.loads(request or "").get("messages") or []
    except (ValueError, AttributeError):
        return request or ""
    users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1] if users and isinstance(users[-1], str) else (request or "")


def _item(row: dict) -> QueueItem:
    return QueueItem(
        **vars(feedback_from_row(row)), severity=int(row["severity"]), request=request_prompt(row["request"]), answer=row["answer"],
        confidence=row["confidence"], sheet_id=row["sheet_id"], item_ref=row["item_ref"],
    )
