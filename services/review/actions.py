"""LABEL, Mode A: an expert approves, edits, rejects or flags the Q&A pairs of a Training Sheet.

Approving (or editing, then approving) upserts the canonical label of the pair's item and
label type and links the pair to it (invariant 3), so the next Training Sheet made from the
same sheet with a template of that label type gets the item pre-approved. A review writes label
data, never a label's governance (invariant 9): an existing label keeps its constraints and the
approved pair takes them on (the most restrictive of both, audited when that tightens the pair);
a new label takes the pair's constraints, and its creation is audited too.

Every single-pair action carries the pair's row_version the reviewer read; a stale action is
refused naming who changed the pair and when, and changes nothing (invariant 7). Each action
is a `review_events` row holding the pair's previous state, so "Undo" takes back exactly it:
- an approval that created the item's label removes that label again (it never existed for
  anyone else: undo refuses if another pair already reuses it or it changed since);
- an approval that changed an existing label rolls it back to the version before (a new
  version, so the history keeps both); the undo is itself a `review_events` row.
Changing a pair's usage constraints writes `usage_constraint_audit` (invariant 5) and, when the
pair is linked to a canonical label, changes the label's constraints too: the label is the
ground truth that later Training Sheets inherit. The pair itself keeps answering to its source's
current tags.

Bulk actions (plan, approve, reject a filtered queue) live in services/review/bulk.py.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from data_access.sql.engine import WriteConflictError
from services.core.domain.canonical_label import CanonicalLabel, ChangeKind, Confidence, LabelContent, LabelKey
from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import PairStatus, QaPair, messages_from_json, messages_to_json
from services.core.domain.review import (
    BULK_ACTIONS,
    ConstraintAudit,
    LabelChange,
    PairReviewState,
    QueueFilter,
    ReviewAction,
    ReviewEvent,
    ReviewOutcome,
    SeenLabel,
    UndoRecord,
)
from services.core.domain.template import Template
from services.core.errors import NotFoundError, StaleWriteError, ValidationError
from services.core.governance import checked_constraints, effective_constraints, governance_changed, most_restrictive
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.generate.qa_pairs_store import QaPairsStore
from services.labels.canonical_labels import CanonicalLabelService
from services.labels.usage_audit_store import UsageAuditStore
from services.review.bulk import BulkPlan, BulkResult, BulkReview
from services.review.response_form import ResponseForm, form_for, needs_observed_labels
from services.review.review_events_store import ReviewEventsStore
from services.review.review_labels_store import ReviewLabelsStore
from services.review.rules import checked_note, label_data_for, new_label_reason, template_of, with_response

_VERBS = {
    ReviewAction.APPROVE: "approved", ReviewAction.EDIT: "edited and approved", ReviewAction.REJECT: "rejected",
    ReviewAction.FLAG: "flagged", ReviewAction.UNDO: "undid a review of", ReviewAction.BULK_APPROVE: "bulk-approved",
    ReviewAction.BULK_REJECT: "bulk-rejected",
}

_NOUNS = {
    ReviewAction.APPROVE: "approval", ReviewAction.EDIT: "edit", ReviewAction.REJECT: "rejection",
    ReviewAction.FLAG: "flag", ReviewAction.UNDO: "undo",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _bound_by_label(pair: UsageConstraints, label: UsageConstraints) -> UsageConstraints:
    """An approved pair answers to its label: the stricter of both, with the label's reason."""
    combined = most_restrictive(pair, label, label.usage_reason or pair.usage_reason)
    return combined if governance_changed(pair, combined) else pair


def _same(first: UsageConstraints, second: UsageConstraints) -> bool:
    """Nothing to save: the same uses, classification and reason."""
    return not governance_changed(first, second) and first.usage_reason == second.usage_reason


def _written(pair: QaPair, state: PairReviewState) -> QaPair:
    """The pair as a successful review write left it (saves reading it back)."""
    kept = state.messages is None
    return replace(
        pair, status=state.status, messages=pair.messages if kept else messages_from_json(state.messages),
        original_response=pair.original_response if kept else state.original_response,
        canonical_label_id=state.canonical_label_id, reviewed_by=state.reviewed_by, reviewed_at=state.reviewed_at,
        review_notes=state.review_notes, row_version=pair.row_version + 1,
    )


class ReviewService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        engine = workbench.backend.engine
        self._engine = engine
        self._pairs = QaPairsStore(engine, workbench.table("qa_pairs"))
        self._events = ReviewEventsStore(engine, workbench.table("review_events"))
        self._audit = UsageAuditStore(engine, workbench.table("usage_constraint_audit"))
        self._labels = CanonicalLabelService(workbench)
        self._review_labels = ReviewLabelsStore(
            engine, workbench.table("qa_pairs"), workbench.table("canonical_labels"), workbench.table("canonical_label_versions"),
            workbench.table("usage_constraint_audit"),
        )

    @property
    def _user(self) -> str:
        return self._wb.user.email

    # -- reading ---------------------------------------------------------------------
    def template_for(self, training_sheet_id: str) -> Template:
        return template_of(self._wb, training_sheet_id)

    def response_problems(self, training_sheet_id: str, response: str) -> list[str]:
        """What stops this response from being approved (empty when nothing does)."""
        try:
            label_data_for(response, self.template_for(training_sheet_id))
        except ValidationError as error:
            return [str(error)]
        return []

    def form(self, pair: QaPair) -> ResponseForm:
        """The pair's review form: its template's output schema as inputs, its response as values."""
        template = self.template_for(pair.training_sheet_id)
        observed = (
            [label.label_data for label in self._labels.for_sheet(pair.sheet_id, template.label_type).values()]
            if needs_observed_labels(template)
            else []
        )
        return form_for(template, pair.response, observed)

    def history(self, pair_id: str) -> list[ReviewEvent]:
        return self._events.for_pair(pair_id)

    def recent_events(self, training_sheet_id: str, limit: int = 50) -> list[ReviewEvent]:
        return self._events.for_training_sheet(training_sheet_id, limit)

    def constraint_audit(self, pair_id: str) -> list[ConstraintAudit]:
        return self._audit.for_pair(pair_id)

    def _current(self, pair_id: str) -> QaPair:
        pair = self._pairs.get(pair_id)
        if pair is None:
            raise NotFoundError("That Q&A pair no longer exists; its Training Sheet may have been deleted.")
        return pair

    def _checked_version(self, pair: QaPair, read_version: int, action: ReviewAction) -> QaPair:
        """The pair as the reviewer read it. A pair record at `read_version` is exactly the stored
        row at that version, and the write checks the version again, so it is not read twice."""
        if pair.row_version == read_version:
            return pair
        current = self._current(pair.id)
        if current.row_version != read_version:
            raise self._stale(current.id, action)
        return current

    # -- single-pair actions ---------------------------------------------------------
    def approve(
        self, pair: QaPair, read_version: int, response: str | None = None, note: str | None = None, seen: SeenLabel | None = None,
    ) -> ReviewOutcome:
        """Approve the pair as it is (response=None) or with an edited response; upserts its
        item's canonical label and links the pair to it. `seen`: the label as the reviewer's card
        read it, so the approval need not read it again (its version is checked as it is written)."""
        current = self._checked_version(pair, read_version, ReviewAction.APPROVE)
        template = self.template_for(current.training_sheet_id)
        edited = response is not None and response != current.response
        text = response if edited and response is not None else current.response
        label_data = label_data_for(text, template)
        note = checked_note(note)
        key = LabelKey(current.sheet_id, current.item_ref, current.label_type or template.label_type)
        trusted = seen is not None and current.label_type and (seen.label is None or seen.label.key == key)
        existing = seen.label if trusted and seen is not None else self._labels.find(key)
        version_before = existing.version if existing else 0
        notes = note or (existing.content.notes if existing else "")
        content = LabelContent(label_data, Confidence.HIGH.value, notes, existing.constraints if existing else current.constraints)
        bound = _bound_by_label(current.constraints, existing.constraints) if existing else current.constraints
        original = (current.original_response if current.original_response is not None else current.response) if edited else current.original_response
        now = _now()
        # An approval that keeps the response neither writes the messages nor records them for undo.
        after = PairReviewState(
            PairStatus.LABELED, messages_to_json(with_response(current.messages, text)) if edited else None, original, key.label_id,
            self._user, now, note,
        )
        action = ReviewAction.EDIT if edited else ReviewAction.APPROVE
        before = PairReviewState.of(current, messages_to_json(current.messages) if edited else None)
        record = UndoRecord(before, read_version + 1, LabelChange(key.label_id, version_before, version_before + 1))
        event = self._event(current, action, PairStatus.LABELED, note, record, now)
        audit = self._approval_audit(current, key.label_id, existing is None, bound, now)
        tightened = bound if existing is not None and audit is not None else None
        try:
            with self._engine.transaction():
                if not self._pairs.write_review(current.id, read_version, after, tightened):
                    raise self._stale(current.id, action)
                try:
                    label = self._labels.save(key, content, version_before, ChangeKind.REVIEW, source_qa_pair_id=current.id, current=existing)
                except StaleWriteError:
                    # Where transactions are a no-op (a SQL warehouse), put the pair back by hand
                    # (a tightened pair stays tightened: governance fails closed).
                    self._pairs.write_review(current.id, read_version + 1, record.pair)
                    raise
                self._events.add(event)
                if audit is not None:
                    self._audit.add(audit)
        except WriteConflictError as error:
            raise self._stale(current.id, action) from error
        return ReviewOutcome(replace(_written(current, after), constraints=bound), event.id, label)

    def _approval_audit(self, pair: QaPair, label_id: str, creates_label: bool, bound: UsageConstraints, now: datetime) -> ConstraintAudit | None:
        """The audit row an approval owes: the label it creates, or the pair it tightens."""
        if creates_label:
            return ConstraintAudit(str(uuid.uuid4()), pair.id, label_id, None, bound, new_label_reason(bound.usage_reason), self._user, now)
        if not governance_changed(pair.constraints, bound):
            return None
        reason = f"Approved: the canonical label's constraints apply ({bound.usage_reason or 'no reason recorded'})"
        return ConstraintAudit(str(uuid.uuid4()), pair.id, label_id, pair.constraints, bound, reason, self._user, now)

    def reject(self, pair: QaPair, read_version: int, note: str | None = None) -> ReviewOutcome:
        return self._decide(pair, read_version, ReviewAction.REJECT, PairStatus.REJECTED, checked_note(note))

    def flag(self, pair: QaPair, read_version: int, note: str | None) -> ReviewOutcome:
        return self._decide(pair, read_version, ReviewAction.FLAG, PairStatus.FLAGGED, checked_note(note, required=True, what="flag this pair"))

    def _decide(self, pair: QaPair, read_version: int, action: ReviewAction, status: PairStatus, note: str | None) -> ReviewOutcome:
        current = self._checked_version(pair, read_version, action)
        now = _now()
        # A rejection or a flag keeps the response: the messages are neither written nor recorded.
        after = PairReviewState(status, None, current.original_response, current.canonical_label_id, self._user, now, note)
        record = UndoRecord(PairReviewState.of(current, None), read_version + 1)
        event = self._event(current, action, status, note, record, now)
        try:
            with self._engine.transaction():
                if not self._pairs.write_review(current.id, read_version, after):
                    raise self._stale(current.id, action)
                self._events.add(event)
        except WriteConflictError as error:
            raise self._stale(current.id, action) from error
        return ReviewOutcome(_written(current, after), event.id)

    def _event(self, pair: QaPair, action: ReviewAction, status: str, note: str | None, record: UndoRecord, now: datetime) -> ReviewEvent:
        return ReviewEvent(
            str(uuid.uuid4()), pair.training_sheet_id, pair.id, str(action), self._user, now, str(status), note,
            previous_state=record.to_json(),
        )

    # -- undo ------------------------------------------------------------------------
    def undo_last(self, training_sheet_id: str) -> ReviewOutcome:
        """Take back this reviewer's last single-pair action in the Training Sheet."""
        event = self._events.last_undo_candidate(training_sheet_id, self._user)
        if event is None:
            raise ValidationError("Nothing to undo: you have no review action in this Training Sheet left to take back.")
        if event.action in BULK_ACTIONS:
            queue = QueueFilter.from_json(event.bulk_filter) if event.bulk_filter else QueueFilter()
            raise ValidationError(
                f"Your last action was a bulk {'approval' if event.action == ReviewAction.BULK_APPROVE else 'rejection'} "
                f"of {event.affected_count or 0:,} pairs ({queue.describe()}). Bulk actions are not undone here; "
                "review those pairs one by one or run the opposite bulk action."
            )
        if event.qa_pair_id is None or event.previous_state is None:
            raise ValidationError("That action did not record what it changed, so it cannot be undone.")
        record = UndoRecord.from_json(event.previous_state)
        current = self._current(event.qa_pair_id)
        if current.row_version != record.row_version_after:
            raise self._stale(current.id, ReviewAction.UNDO)
        now = _now()
        undo = ReviewEvent(
            str(uuid.uuid4()), training_sheet_id, current.id, str(ReviewAction.UNDO), self._user, now, record.pair.status,
            f"Undid {event.action} of {event.created_at:%Y-%m-%d %H:%M:%S} UTC" if event.created_at else f"Undid {event.action}",
        )
        try:
            with self._engine.transaction():
                if not self._pairs.write_review(current.id, current.row_version, record.pair):
                    raise self._stale(current.id, ReviewAction.UNDO)
                if record.label is not None:
                    self._undo_label(record.label, current)
                if not self._events.mark_undone(event.id):
                    raise StaleWriteError("That action was undone meanwhile (in another tab?); nothing else was changed.")
                self._events.add(undo)
        except WriteConflictError as error:
            raise self._stale(current.id, ReviewAction.UNDO) from error
        return ReviewOutcome(self._current(current.id), undo.id, self._labels.find(self._key(current)))

    def _undo_label(self, change: LabelChange, pair: QaPair) -> None:
        try:
            label = self._labels.get(change.label_id)
        except NotFoundError:
            if change.version_before == 0:
                return  # already gone: nothing to take back
            raise StaleWriteError("The canonical label this approval changed was removed since; nothing was undone.") from None
        if label.version != change.version_after:
            raise StaleWriteError(
                f"{label.last_modified_by} changed the canonical label of {pair.item_ref} ({label.key.label_type}) after "
                f"your approval (now version {label.version}); nothing was undone. Roll it back from its history in the "
                "Canonical Labeling Tool instead."
            )
        if change.version_before > 0:
            self._labels.rollback(label.id, change.version_before, change.version_after)
            return
        reused = self._pairs.count_linked(label.id, pair.id)
        if reused:
            raise ValidationError(
                f"The canonical label your approval created for {pair.item_ref} is already reused by {reused:,} pair(s) "
                "in other Training Sheets; nothing was undone. Change the label in the Canonical Labeling Tool instead."
            )
        if not self._review_labels.remove_created_label(label.id, change.version_after):
            raise StaleWriteError(f"The canonical label of {pair.item_ref} changed while undoing; nothing was undone.")

    @staticmethod
    def _key(pair: QaPair) -> LabelKey:
        return LabelKey(pair.sheet_id, pair.item_ref, pair.label_type)

    # -- usage constraints -----------------------------------------------------------
    def change_constraints(self, pair: QaPair, read_version: int, constraints: UsageConstraints) -> QaPair:
        """A person's change to what the pair (and its canonical label) may be used for, with a reason.

        The label takes the constraints as the person gave them (an explicit, audited edit: the
        one way a label's governance loosens); the pair takes them tightened by its source's
        current tags, as every pair does (invariant 9), so the badges say which rule still binds.
        """
        new = checked_constraints(constraints, reason_required=True)
        current = self._current(pair.id)
        if current.row_version != read_version:
            raise self._stale(current.id, None)
        old = current.constraints
        label = self._labels.find(self._key(current)) if current.canonical_label_id else None
        bound = effective_constraints(new, self._source_tags(current.sheet_id))
        label_changes = label is not None and not _same(label.constraints, new)
        if _same(old, bound) and not label_changes:
            raise ValidationError("The usage constraints are unchanged; nothing was saved.")
        audits = self._constraint_audits(current, label, bound, new)
        try:
            with self._engine.transaction():
                if not self._pairs.write_constraints(current.id, read_version, bound):
                    raise self._stale(current.id, None)
                if label is not None and label_changes:
                    try:
                        self._labels.save(label.key, replace(label.content, constraints=new), label.version, ChangeKind.EDIT, current.id)
                    except StaleWriteError:
                        self._pairs.write_constraints(current.id, read_version + 1, old)  # no transaction on a warehouse
                        raise
                for audit in audits:
                    self._audit.add(audit)
        except WriteConflictError as error:
            raise self._stale(current.id, None) from error
        return self._current(current.id)

    def _constraint_audits(self, pair: QaPair, label: CanonicalLabel | None, bound: UsageConstraints, new: UsageConstraints) -> list[ConstraintAudit]:
        """The pair's change; and the label's, when the pair's row does not already say it."""
        now, label_id = _now(), label.id if label else None
        audits = [ConstraintAudit(str(uuid.uuid4()), pair.id, label_id, pair.constraints, bound, new.usage_reason, self._user, now)]
        if label is not None and not _same(label.constraints, new) and (
            governance_changed(label.constraints, pair.constraints) or governance_changed(new, bound)
        ):
            audits.append(ConstraintAudit(str(uuid.uuid4()), pair.id, label.id, label.constraints, new, new.usage_reason, self._user, now))
        return audits

    def _source_tags(self, sheet_id: str) -> dict[str, str]:
        sheets = SheetService(self._wb)
        return sheets.with_tags(sheets.get(sheet_id)).tags

    # -- bulk actions (services/review/bulk.py) ----------------------------------------
    def plan_bulk(self, training_sheet_id: str, queue: QueueFilter, action: ReviewAction) -> BulkPlan:
        """What `bulk_approve` / `bulk_reject` would change now; writes nothing."""
        return BulkReview(self._wb).plan(training_sheet_id, queue, action)

    def bulk_approve(self, training_sheet_id: str, queue: QueueFilter, note: str | None = None) -> BulkResult:
        return BulkReview(self._wb).approve(training_sheet_id, queue, note)

    def bulk_reject(self, training_sheet_id: str, queue: QueueFilter, note: str | None = None) -> BulkResult:
        return BulkReview(self._wb).reject(training_sheet_id, queue, note)

    # -- stale writes ----------------------------------------------------------------
    def _stale(self, pair_id: str, action: ReviewAction | None) -> StaleWriteError:
        """Who changed the pair since it was read, and when, in words a reviewer can act on."""
        latest = self._pairs.get(pair_id)
        if latest is None:
            return StaleWriteError("This pair was deleted after you opened it; nothing was saved.")
        changes: list[tuple[datetime, str, str]] = []
        event = self._events.latest_for_pair(pair_id)
        if event is not None and event.created_at is not None:
            changes.append((event.created_at, event.actor, _VERBS.get(ReviewAction(event.action), "changed")))
        audit = self._audit.latest_for_pair(pair_id)
        if audit is not None and audit.modified_at is not None:
            changes.append((audit.modified_at, audit.modified_by, "changed the usage constraints of"))
        if latest.reviewed_by and latest.reviewed_at is not None:
            changes.append((latest.reviewed_at, latest.reviewed_by, "reviewed"))
        what = "Your change" if action is None else f"Your {_NOUNS.get(action, 'change')}"
        if not changes:
            return StaleWriteError(f"Someone changed this pair after you opened it (it is now {latest.status}). {what} was not saved.")
        when, who, verb = max(changes, key=lambda c: c[0])
        return StaleWriteError(
            f"{who or 'Someone'} {verb} this pair at {when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, after you opened it "
            f"(it is now {latest.status}). {what} was not saved; the card now shows their version."
        )
