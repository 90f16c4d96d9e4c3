"""Bulk review: approve or reject the undecided pairs of a filtered queue at once.

Bulk actions decide only pairs nobody has decided yet (status `unlabeled`): they never override
a person's approval, rejection or flag, nor a pre-approved pair. A bulk approval checks each
response against the template in Python (as a single approval does), stages the pairs that pass
with their deterministic label ids, and applies them set-based: one MERGE creating the canonical
labels, one INSERT of their version rows, one MERGE of the pairs, recorded once in
`review_events` with its filter and count. Items that already have a canonical label are left
for one-by-one review: a rule over AI confidence must not overwrite an expert's ground truth.
A bulk approval says how many of its pairs are likely right (services/review/draft_confidence.py)
and is refused when the queue is filtered by an AI confidence whose meaning nobody measured.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from data_access.sql.engine import WriteConflictError
from services.core.domain.canonical_label import Confidence, LabelKey
from services.core.domain.qa_pair import PairStatus
from services.core.domain.review import QueueFilter, ReviewAction, ReviewEvent
from services.core.errors import StaleWriteError, ValidationError
from services.core.workbench import Workbench
from services.generate.qa_pairs_store import QaPairsStore, queue_predicate
from services.review.draft_confidence import ExpectedAgreement, draft_calibration, expected_agreement
from services.review.queue import checked_filter
from services.review.review_events_store import ReviewEventsStore
from services.review.review_labels_store import ReviewLabelsStore, staged_params
from services.review.rules import NEW_LABEL_REASON, checked_note, label_data_for, response_of, template_of

# Pairs per set-based bulk statement: each staged array parameter stays around 1 MB, well
# inside what a SQL warehouse accepts; larger queues take several such statements.
BULK_BATCH = 10_000
# A bulk approval decides by a rule over AI confidence, not item by item: its labels say so.
BULK_LABEL_CONFIDENCE = Confidence.MEDIUM


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk action over a filtered queue would change, for the confirm dialog."""

    action: ReviewAction
    queue: QueueFilter
    in_queue: int  # pairs the filter matches
    count: int  # pairs that will change
    decided: int = 0  # already approved (or pre-approved), rejected or flagged: left alone
    no_response: int = 0
    invalid: int = 0  # the response does not match the template's output schema
    item_labeled: int = 0  # the item already has a canonical label: review these one by one
    agreement: ExpectedAgreement | None = None  # how many approved pairs are likely right, when measured
    refusal: str = ""  # why this approval may not run (then nothing is approved)

    def reasons(self) -> list[str]:
        """Why pairs of the queue are left out, in a person's words."""
        lines = []
        if self.decided:
            lines.append(f"{self.decided:,} already decided (approved, pre-approved, rejected or flagged)")
        if self.no_response:
            lines.append(f"{self.no_response:,} with no response yet")
        if self.invalid:
            lines.append(f"{self.invalid:,} whose response does not match the output schema")
        if self.item_labeled:
            lines.append(f"{self.item_labeled:,} whose item already has a canonical label (review them one by one)")
        return lines


@dataclass(frozen=True)
class BulkResult:
    action: ReviewAction
    changed: int
    event_id: str
    plan: BulkPlan


@dataclass(frozen=True)
class _Staged:
    pair_ids: list[str]
    label_ids: list[str]
    read_versions: list[int]
    label_data: list[str]

    def batches(self, size: int) -> list[dict[str, Any]]:
        return [
            staged_params(self.pair_ids[i : i + size], self.label_ids[i : i + size], self.read_versions[i : i + size], self.label_data[i : i + size])
            for i in range(0, len(self.pair_ids), size)
        ]


def _refusal(queue: QueueFilter, agreement: ExpectedAgreement | str) -> str:
    """Approving by AI confidence needs that confidence to mean something measured."""
    by_confidence = queue.confidence_min is not None or queue.confidence_max is not None
    if not by_confidence or isinstance(agreement, ExpectedAgreement):
        return ""
    return (
        f"Approving by AI confidence needs to know how often drafts at that confidence agree with experts, and for these "
        f"pairs nobody knows: {agreement}. Review them one by one."
    )


class BulkReview:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        engine = workbench.backend.engine
        self._engine = engine
        self._pairs = QaPairsStore(engine, workbench.table("qa_pairs"), workbench.table("pair_signals"))
        self._events = ReviewEventsStore(engine, workbench.table("review_events"))
        self._labels = ReviewLabelsStore(
            engine, workbench.table("qa_pairs"), workbench.table("canonical_labels"), workbench.table("canonical_label_versions"),
            workbench.table("usage_constraint_audit"),
        )

    def plan(self, training_sheet_id: str, queue: QueueFilter, action: ReviewAction) -> BulkPlan:
        """What `approve` / `reject` would change now; writes nothing."""
        queue = checked_filter(queue)
        if action == ReviewAction.BULK_APPROVE:
            return self._approval_batch(training_sheet_id, queue)[1]
        if action == ReviewAction.BULK_REJECT:
            return self._rejection_plan(training_sheet_id, queue)
        raise ValidationError(f"'{action}' is not a bulk action.")

    def _rejection_plan(self, training_sheet_id: str, queue: QueueFilter) -> BulkPlan:
        in_queue = self._pairs.queue_count(training_sheet_id, queue)
        undecided = self._pairs.count_undecided(training_sheet_id, queue)
        return BulkPlan(ReviewAction.BULK_REJECT, queue, in_queue, undecided, decided=in_queue - undecided)

    def _approval_batch(self, training_sheet_id: str, queue: QueueFilter) -> tuple[_Staged, BulkPlan]:
        template = template_of(self._wb, training_sheet_id)
        where, params = queue_predicate(training_sheet_id, queue, alias="p", signals_table=self._wb.table("pair_signals"))
        rows = self._labels.approval_candidates(where, params)
        in_queue = self._pairs.queue_count(training_sheet_id, queue)
        staged = _Staged([], [], [], [])
        confidences: list[float | None] = []
        no_response = invalid = item_labeled = 0
        for row in rows:
            if row["existing_label_id"] is not None:
                item_labeled += 1
                continue
            response = response_of(row["messages"])
            if not response.strip():
                no_response += 1
                continue
            try:
                data = label_data_for(response, template)
            except ValidationError:
                invalid += 1
                continue
            staged.pair_ids.append(row["id"])
            staged.label_ids.append(LabelKey(row["sheet_id"], row["item_ref"], row["label_type"] or template.label_type).label_id)
            staged.read_versions.append(int(row["row_version"]))
            staged.label_data.append(json.dumps(data, ensure_ascii=False))
            confidences.append(row["ai_confidence"])
        agreement = expected_agreement(draft_calibration(self._wb, training_sheet_id), confidences)
        plan = BulkPlan(
            ReviewAction.BULK_APPROVE, queue, in_queue, len(staged.pair_ids), in_queue - len(rows), no_response, invalid, item_labeled,
            agreement if isinstance(agreement, ExpectedAgreement) else None, _refusal(queue, agreement),
        )
        return staged, plan

    def approve(self, training_sheet_id: str, queue: QueueFilter, note: str | None = None) -> BulkResult:
        queue = checked_filter(queue)
        note = checked_note(note)
        staged, plan = self._approval_batch(training_sheet_id, queue)
        if plan.refusal:
            raise ValidationError(plan.refusal, "confidence")
        now, user = datetime.now(UTC), self._wb.user.email
        notes = f"Approved in bulk ({queue.describe()})"
        approved = 0
        event_id = str(uuid.uuid4())
        try:
            with self._engine.transaction():
                for batch in staged.batches(BULK_BATCH):
                    self._labels.create_labels(batch, training_sheet_id, user, now, BULK_LABEL_CONFIDENCE.value, notes)
                    self._labels.add_created_versions(batch, user, now)
                    self._labels.audit_created_labels(batch, user, now, NEW_LABEL_REASON)
                    approved += self._labels.approve_pairs(batch, user, now, note)
                self._events.add(self._event(event_id, training_sheet_id, ReviewAction.BULK_APPROVE, queue, approved, note, now))
        except WriteConflictError as error:
            raise StaleWriteError("Another reviewer changed pairs of this queue during the bulk approval; nothing was changed. Try again.") from error
        return BulkResult(ReviewAction.BULK_APPROVE, approved, event_id, plan)

    def reject(self, training_sheet_id: str, queue: QueueFilter, note: str | None = None) -> BulkResult:
        queue = checked_filter(queue)
        note = checked_note(note)
        plan = self._rejection_plan(training_sheet_id, queue)
        now = datetime.now(UTC)
        event_id = str(uuid.uuid4())
        try:
            with self._engine.transaction():
                rejected = self._pairs.bulk_reject(training_sheet_id, queue, self._wb.user.email, now, note)
                self._events.add(self._event(event_id, training_sheet_id, ReviewAction.BULK_REJECT, queue, rejected, note, now))
        except WriteConflictError as error:
            raise StaleWriteError("Another reviewer changed pairs of this queue during the bulk rejection; nothing was changed. Try again.") from error
        return BulkResult(ReviewAction.BULK_REJECT, rejected, event_id, plan)

    def _event(
        self, event_id: str, training_sheet_id: str, action: ReviewAction, queue: QueueFilter, count: int, note: str | None, now: datetime
    ) -> ReviewEvent:
        status = PairStatus.LABELED if action == ReviewAction.BULK_APPROVE else PairStatus.REJECTED
        return ReviewEvent(
            event_id, training_sheet_id, None, str(action), self._wb.user.email, now, str(status), note, queue.to_json(), count
        )
