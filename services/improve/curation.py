"""Routing feedback back to the experts: answers become new pairs to label in a Training Sheet,
a wrong canonical label gets a new version, or an item goes to a senior expert. Each moves the
feedback's status through FeedbackStore.set_status, so a triage based on a stale read is refused.

A pair made from feedback is `unlabeled` (an expert still approves it before any training), its
draft response is the correction (the model's answer when there is none), it names its
feedback (qa_pairs.feedback_id), and its governance is its source's: the Unity Catalog tags of
the sheet the request was rendered from, failing closed when they cannot be read, and tightened
as a PII-tagged source's would be when the request or its answer holds personal data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import (
    LabelingMode,
    Message,
    PairStatus,
    TrainingSheet,
    TrainingSheetStatus,
    messages_to_json,
)
from services.core.errors import NotFoundError, ValidationError
from services.core.governance import constraints_from_tags, most_restrictive, tag_rule, unreadable_tags_rule
from services.core.pii import find_pii
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.generate.training_sheets_store import TrainingSheetsStore
from services.improve.capture import FeedbackCapture
from services.improve.feedback_store import FeedbackStore
from services.improve.queue import QueueItem
from services.improve.records import FeedbackStatus
from services.labels.canonical_labels import CanonicalLabelService
from services.templates.prompt_templates import TemplateService

TRIAGED = (FeedbackStatus.OPEN, FeedbackStatus.FLAGGED)  # what can still be routed
# A request (or its answer) holding personal data is classified as a PII-tagged source would be:
# never in model weights, whatever its source's tags say.
_PERSONAL_DATA_IN_REQUEST = replace(tag_rule({"PII": "request"}) or UsageConstraints(), usage_reason="Personal data in the request or its answer")


@dataclass(frozen=True)
class _Draft:
    messages: str  # JSON, as qa_pairs keeps them
    personal_data: bool


@dataclass(frozen=True)
class AddedPairs:
    training_sheet: TrainingSheet
    pair_count: int


class FeedbackCuration:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._feedback = FeedbackStore(workbench)
        self._sheets = TrainingSheetsStore(self._engine, workbench.table("training_sheets"), workbench.table("qa_pairs"))

    # -- Add to Training Sheet ------------------------------------------------------------
    @staticmethod
    def with_source_item(items: Sequence[QueueItem]) -> tuple[list[QueueItem], list[QueueItem]]:
        """The items that can become pairs (answers to a sheet item), and the free prompts that cannot."""
        return [i for i in items if i.sheet_id and i.item_ref], [i for i in items if not (i.sheet_id and i.item_ref)]

    def training_sheets_for(self, items: Sequence[QueueItem]) -> list[TrainingSheet]:
        """The Training Sheets these items can join: of their sheet, made with their model's template."""
        sheet_id, template_id = self._source_of(items)
        return [t for t in self._sheets.list(sheet_id) if t.template_id == template_id]

    def add_to_training_sheet(
        self, items: Sequence[QueueItem], *, training_sheet_id: str | None = None, new_name: str | None = None,
    ) -> AddedPairs:
        """The items as new pairs (one INSERT ... SELECT) in an existing Training Sheet or a new one
        named `new_name`; each item's status moves to added_to_training_sheet, refused if stale."""
        self._routable(items)
        sheet_id, template_id = self._source_of(items)
        constraints = self._source_constraints(sheet_id)
        pair_ids = {i.id: str(uuid.uuid4()) for i in items}
        now = datetime.now(UTC)
        with self._engine.transaction():  # a stale item leaves no new Training Sheet and no pair behind
            target = self._existing(training_sheet_id, sheet_id, template_id) if training_sheet_id else self._new(new_name, sheet_id, template_id)
            self._insert_pairs(target, items, pair_ids, constraints, now)
            for item in items:
                self._feedback.set_status(item.id, FeedbackStatus.ADDED_TO_TRAINING_SHEET, by=self._wb.user.email,
                                          expected_version=item.version, training_sheet_id=target.id, qa_pair_id=pair_ids[item.id])
        added = self._sheets.get(target.id)
        assert added is not None
        return AddedPairs(added, len(items))

    def _insert_pairs(self, target: TrainingSheet, items: Sequence[QueueItem], pair_ids: dict[str, str],
                      constraints: UsageConstraints, now: datetime) -> None:
        pairs, feedback, log = self._wb.table("qa_pairs"), self._wb.table("feedback"), self._wb.table("inference_log")
        picked = [i.id for i in items]
        drafts = self._drafts(picked)
        personal = most_restrictive(constraints, _PERSONAL_DATA_IN_REQUEST)
        self._engine.execute(
            f"INSERT INTO {pairs} (id, training_sheet_id, sheet_id, item_ref, ordinal, label_type, messages, original_response, "
            "status, labeling_mode, allowed_uses, prohibited_uses, usage_reason, data_classification, review_notes, feedback_id, "
            "created_at, updated_at, row_version) "
            "SELECT element_at(map_from_arrays(:feedback_ids, :pair_ids), f.id), :training_sheet_id, l.sheet_id, l.item_ref, "
            f"(SELECT coalesce(max(p.ordinal), 0) FROM {pairs} p WHERE p.training_sheet_id = :training_sheet_id) "
            "+ row_number() OVER (ORDER BY f.created_at, f.id), CAST(:label_type AS STRING), "
            "element_at(map_from_arrays(:feedback_ids, :messages), f.id), l.prediction, :status, :mode, "
            "CASE WHEN array_contains(:personal_ids, f.id) THEN :personal_allowed ELSE :allowed END, "
            "CASE WHEN array_contains(:personal_ids, f.id) THEN :personal_prohibited ELSE :prohibited END, "
            "CASE WHEN array_contains(:personal_ids, f.id) THEN :personal_reason ELSE :reason END, "
            "CASE WHEN array_contains(:personal_ids, f.id) THEN :personal_classification ELSE :classification END, "
            "concat('From feedback: ', coalesce(f.feedback_value, f.feedback_type), coalesce(concat(' (', f.comment, ')'), '')), "
            "f.id, :now, :now, 1 "
            f"FROM {feedback} f JOIN {log} l ON l.id = f.inference_log_id WHERE array_contains(:feedback_ids, f.id)",
            {"feedback_ids": picked, "pair_ids": [pair_ids[i] for i in picked], "messages": [drafts[i].messages for i in picked],
             "personal_ids": [i for i in picked if drafts[i].personal_data] or [""],  # [""]: an empty list binds no element type
             "personal_allowed": list(personal.allowed_uses), "personal_prohibited": list(personal.prohibited_uses),
             "personal_reason": personal.usage_reason, "personal_classification": str(personal.data_classification),
             "training_sheet_id": target.id, "label_type": target.label_type, "status": PairStatus.UNLABELED.value,
             "mode": LabelingMode.MANUAL.value, "allowed": list(constraints.allowed_uses),
             "prohibited": list(constraints.prohibited_uses), "reason": constraints.usage_reason,
             "classification": str(constraints.data_classification), "now": now},
        )

    def _drafts(self, feedback_ids: list[str]) -> dict[str, _Draft]:
        """Each pair's messages: the request as the model got it, then the draft answer (the
        correction, else the model's own answer for the expert to fix); and whether any of it
        holds personal data (the request's own classification)."""
        rows = self._engine.query(
            f"SELECT f.id, l.request, coalesce(f.correction, l.prediction) AS draft FROM {self._wb.table('feedback')} f "
            f"JOIN {self._wb.table('inference_log')} l ON l.id = f.inference_log_id WHERE array_contains(:ids, f.id)",
            {"ids": feedback_ids},
        )
        drafts = {}
        for row in rows:
            turns = (*_request_messages(row["request"]), Message("assistant", row["draft"] or ""))
            drafts[row["id"]] = _Draft(messages_to_json(turns), any(find_pii(t.content) for t in turns))
        return drafts

    def _routable(self, items: Sequence[QueueItem]) -> None:
        if not items:
            raise ValidationError("Select the feedback to route first.")
        done = [i for i in items if i.status not in TRIAGED]
        if done:
            raise ValidationError(f"{len(done)} of the selected items were already handled ({done[0].status.value}); nothing was changed.")

    def _source_of(self, items: Sequence[QueueItem]) -> tuple[str, str]:
        """The one sheet the items' requests were rendered from and the template their model serves."""
        if any(not i.sheet_id or not i.item_ref for i in items):
            raise ValidationError("Only answers to a sheet item can become pairs: a free prompt has no source item, so neither "
                                  "an expert's view of it nor its governance is known. Flag or dismiss it instead.")
        sheets = {i.sheet_id for i in items}
        if len(sheets) > 1:
            raise ValidationError("The selected answers came from different sheets; add them to a Training Sheet one sheet at a time.")
        templates = self._template_ids(items)
        if len(templates) != 1 or None in templates:
            raise ValidationError("The selected answers were given by models of different templates (or one without a template); "
                                  "add them one model at a time.")
        return str(next(iter(sheets))), str(next(iter(templates)))

    def _template_ids(self, items: Sequence[QueueItem]) -> set[str | None]:
        """The templates of the deployments that gave these answers (None for an answer whose deployment is unknown)."""
        rows = self._engine.query(
            f"SELECT DISTINCT d.template_id FROM {self._wb.table('inference_log')} l LEFT JOIN {self._wb.table('deployments')} d "
            "ON d.id = l.deployment_id WHERE array_contains(:ids, l.id)", {"ids": [i.inference_log_id for i in items]},
        )
        return {r["template_id"] for r in rows}

    def _existing(self, training_sheet_id: str, sheet_id: str, template_id: str) -> TrainingSheet:
        found = self._sheets.get(training_sheet_id)
        if found is None:
            raise NotFoundError(f"Training Sheet {training_sheet_id} does not exist; it may have been deleted.")
        if found.sheet_id != sheet_id or found.template_id != template_id:
            raise ValidationError(f"{found.name} is of another sheet or template than these answers; pick one made from the same.")
        return found

    def _new(self, name: str | None, sheet_id: str, template_id: str) -> TrainingSheet:
        name = (name or "").strip()
        if not name:
            raise ValidationError("Name the new Training Sheet.")
        if name.lower() in self._sheets.names():
            raise ValidationError(f"A Training Sheet named {name} exists already; pick it or choose another name.")
        template = TemplateService(self._wb).get(template_id)
        created = TrainingSheet(
            id=str(uuid.uuid4()), name=name, sheet_id=sheet_id, template_id=template.id, template_version=template.version,
            label_type=template.label_type, labeling_mode=LabelingMode.MANUAL.value, status=TrainingSheetStatus.REVIEW.value,
            generation_config={"source": "feedback"}, created_by=self._wb.user.email,
        )
        self._sheets.insert(created)
        return created

    def _source_constraints(self, sheet_id: str) -> UsageConstraints:
        """The source table's tags as they are now; nothing may be used when they cannot be read."""
        sheet = SheetService(self._wb).get(sheet_id)
        try:
            tags = self._wb.backend.catalog.get_table(sheet.primary_table).tags
        except Exception as error:  # any failure to read the tags fails closed, and says why
            return unreadable_tags_rule(sheet.primary_table, str(error) or type(error).__name__)
        return constraints_from_tags(tags)

    # -- Update canonical label -----------------------------------------------------------
    def update_canonical_label(self, item: QueueItem, label_data: str | None = None) -> int:
        """A new version of the source item's label (for the model's label type) with the
        correction, through the canonical-label service (its version history records who and
        when; an existing label keeps its usage constraints). Returns the new version."""
        self._routable([item])
        if not item.sheet_id or not item.item_ref:
            raise ValidationError("This answer was not given to a sheet item, so there is no canonical label to update.")
        template = TemplateService(self._wb).get(self._source_of([item])[1])
        text = label_data if label_data is not None else item.correction
        if not text:
            raise ValidationError("There is no correction to write as the label: write the right answer first.")
        data = json.loads(FeedbackCapture(self._wb).checked_correction(item.inference_log_id, text)) if template.output_schema else None
        if not isinstance(data, dict):
            raise ValidationError("The model's template has no output schema to write a label for.")
        labels = CanonicalLabelService(self._wb)
        key = LabelKey(item.sheet_id, item.item_ref, template.label_type)
        current = labels.find(key)
        constraints = current.content.constraints if current else self._source_constraints(item.sheet_id)
        notes = f"Corrected from production feedback {item.id}" + (f": {item.comment}" if item.comment else "")
        with self._engine.transaction():  # a stale feedback item leaves the label as it was
            saved = labels.save(key, LabelContent(data, notes=notes, constraints=constraints), current.version if current else 0, current=current)
            self._feedback.set_status(item.id, FeedbackStatus.LABEL_UPDATED, by=self._wb.user.email, expected_version=item.version)
        return saved.version

    # -- Flag, dismiss ----------------------------------------------------------------------
    def flag(self, items: Sequence[QueueItem], note: str) -> None:
        """For a senior expert, with a note saying what looks suspicious."""
        if not note.strip():
            raise ValidationError("Say what the senior expert should look at.")
        self._move(items, FeedbackStatus.FLAGGED, note.strip())

    def dismiss(self, items: Sequence[QueueItem]) -> None:
        self._move(items, FeedbackStatus.DISMISSED, None)

    def _move(self, items: Sequence[QueueItem], status: FeedbackStatus, note: str | None) -> None:
        self._routable(items)
        with self._engine.transaction():
            for item in items:
                self._feedback.set_status(item.id, status, by=self._wb.user.email, expected_version=item.version, flag_note=note)


def _request_messages(request: str | None) -> tuple[Message, ...]:
    """The chat turns of a logged request (its system and user messages)."""
    try:
        turns = json.loads(request or "{}").get("messages") or []
    except (ValueError, AttributeError):
        return (Message("user", request or ""),)
    return tuple(Message(str(t.get("role")), str(t.get("content") or "")) for t in turns if isinstance(t, dict) and t.get("role") != "assistant")
