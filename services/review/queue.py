"""The review queue of a Training Sheet: filtered, paged and walked in SQL, plus its progress.

Everything is a query over `qa_pairs` bounded by the filter, so a sheet of 100,000 pairs
pages as fast as one of 100: pages pick their ids on narrow columns, next/previous are
keyset steps on the ordinal.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from services.core.domain.canonical_label import LabelAuthor
from services.core.domain.governance import ALL_USES, CLASSIFICATION_RANK
from services.core.domain.qa_pair import LabelingMode, PairCounts, PairStatus, QaPair
from services.core.domain.review import QueueFilter, ReviewerCount
from services.core.domain.signals import SIGNAL_FILTERS
from services.core.errors import NotFoundError, ValidationError
from services.core.workbench import Workbench
from services.generate.qa_pairs_store import COUNT_NAMES, QaPairsStore
from services.labels.canonical_labels import CanonicalLabelService

__all__ = ["MAX_PAGE_SIZE", "MAX_SEARCH_LENGTH", "QueueFilter", "QueuePage", "ReviewQueue", "checked_filter"]

MAX_PAGE_SIZE = 200  # a screenful of rows; more would only slow the grid
MAX_SEARCH_LENGTH = 200  # a search is a phrase, not a document
NEEDS_REVIEW = (PairStatus.UNLABELED.value, PairStatus.FLAGGED.value)  # the default queue


@dataclass(frozen=True)
class QueuePage:
    pairs: list[QaPair]
    total: int  # pairs in the filtered queue
    offset: int


def checked_filter(queue: QueueFilter) -> QueueFilter:
    """The filter if every value is one the queue knows; ValidationError naming the first that is not."""
    unknown_status = set(queue.statuses) - {s.value for s in PairStatus}
    if unknown_status:
        raise ValidationError(f"Unknown status: {', '.join(sorted(unknown_status))}.", "statuses")
    unknown_mode = set(queue.modes) - {m.value for m in LabelingMode}
    if unknown_mode:
        raise ValidationError(f"Unknown labeling mode: {', '.join(sorted(unknown_mode))}.", "modes")
    for bound, name in ((queue.confidence_min, "confidence_min"), (queue.confidence_max, "confidence_max")):
        if bound is not None and not 0.0 <= bound <= 1.0:
            raise ValidationError("AI confidence bounds are between 0 and 1.", name)
    if queue.confidence_min is not None and queue.confidence_max is not None and queue.confidence_min > queue.confidence_max:
        raise ValidationError("The lowest AI confidence is above the highest; no pair can match.", "confidence_min")
    for use, name in ((queue.permitted_use, "permitted_use"), (queue.prohibited_use, "prohibited_use")):
        if use and use not in ALL_USES:
            raise ValidationError(f"Unknown use '{use}'. Uses are {', '.join(ALL_USES)}.", name)
    if queue.data_classification and queue.data_classification not in CLASSIFICATION_RANK:
        raise ValidationError(f"Unknown data classification '{queue.data_classification}'.", "data_classification")
    if queue.signal and queue.signal not in SIGNAL_FILTERS:
        raise ValidationError(f"Unknown signal '{queue.signal}'. Signals are {', '.join(SIGNAL_FILTERS)}.", "signal")
    if len(queue.search) > MAX_SEARCH_LENGTH:
        raise ValidationError(f"Search for at most {MAX_SEARCH_LENGTH} characters.", "search")
    return queue


# One lookup per reviewer action at a time; a couple of workers keep two sessions from queueing.
PREFETCH_WORKERS = 2
_prefetcher = ThreadPoolExecutor(max_workers=PREFETCH_WORKERS, thread_name_prefix="queue-prefetch")


class ReviewQueue:
    def __init__(self, workbench: Workbench) -> None:
        self._pairs = QaPairsStore(workbench.backend.engine, workbench.table("qa_pairs"), workbench.table("pair_signals"))
        self._labels = CanonicalLabelService(workbench)

    # -- the queue -------------------------------------------------------------------
    def page(self, training_sheet_id: str, queue: QueueFilter, offset: int = 0, limit: int = 50) -> QueuePage:
        queue = checked_filter(queue)
        limit, offset = max(1, min(limit, MAX_PAGE_SIZE)), max(0, offset)
        pairs, total = self._pairs.queue_page(training_sheet_id, queue, offset, limit)
        if not pairs and offset > 0 and total:  # past the end: the last page there is
            offset = (total - 1) // limit * limit
            pairs, total = self._pairs.queue_page(training_sheet_id, queue, offset, limit)
        return QueuePage(pairs, total, offset)

    def count(self, training_sheet_id: str, queue: QueueFilter) -> int:
        return self._pairs.queue_count(training_sheet_id, checked_filter(queue))

    def position(self, training_sheet_id: str, queue: QueueFilter, pair: QaPair) -> int:
        """The pair's 0-based place in the queue (where it is, or would be, by ordinal)."""
        return self._pairs.queue_position(training_sheet_id, checked_filter(queue), pair.ordinal)

    def first(self, training_sheet_id: str, queue: QueueFilter) -> QaPair | None:
        return self._pairs.queue_after(training_sheet_id, checked_filter(queue), -1)

    def next_after(self, training_sheet_id: str, queue: QueueFilter, ordinal: int) -> QaPair | None:
        return self._pairs.queue_after(training_sheet_id, checked_filter(queue), ordinal)

    def previous_before(self, training_sheet_id: str, queue: QueueFilter, ordinal: int) -> QaPair | None:
        return self._pairs.queue_before(training_sheet_id, checked_filter(queue), ordinal)

    def following(self, training_sheet_id: str, queue: QueueFilter, ordinal: int) -> QaPair | None:
        """What to review after the pair at `ordinal`: the next in the queue, else (the queue's
        end reached) the first one still in it, so pairs skipped earlier come round again."""
        after = self.next_after(training_sheet_id, queue, ordinal)
        if after is not None:
            return after
        first = self.first(training_sheet_id, queue)
        return first if first is not None and first.ordinal != ordinal else None

    def prefetch_following(self, training_sheet_id: str, queue: QueueFilter, ordinal: int) -> Future[QaPair | None]:
        """`following`, looked up on another thread while the caller's review action writes.

        The lookup needs nothing the action changes (it starts after `ordinal`, and the queue's
        end wraps past the acted-on pair), and the engine runs it without the GIL, so a
        reviewer's action and the fetch of what comes next take the time of the longer one.
        """
        return _prefetcher.submit(self.following, training_sheet_id, queue, ordinal)

    def labelers(self, pairs: list[QaPair]) -> dict[str, LabelAuthor]:
        """pair id → who labeled the canonical label each pre-approved pair of a page carries."""
        carried = {p.id: p.canonical_label_id for p in pairs if p.pre_approved and p.canonical_label_id}
        authors = self._labels.authors(sorted(set(carried.values())))
        return {pair_id: authors[label_id] for pair_id, label_id in carried.items() if label_id in authors}

    def pair(self, pair_id: str) -> QaPair:
        found = self._pairs.get(pair_id)
        if found is None:
            raise NotFoundError("That Q&A pair does not exist; its Training Sheet may have been deleted.")
        return found

    # -- progress --------------------------------------------------------------------
    def progress(self, training_sheet_id: str) -> PairCounts:
        """Total; labeled (pre-approved, or approved in review); needs review (unlabeled, rejected, flagged)."""
        counts = self._pairs.status_counts(training_sheet_id)
        return PairCounts(**{k: counts.get(k, 0) for k in COUNT_NAMES})

    def reviewers(self, training_sheet_id: str) -> list[ReviewerCount]:
        return self._pairs.reviewer_counts(training_sheet_id)
