from dataclasses import replace

import pytest

from data_access.identity import User
from data_access.sql.engine import SqlError
from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.governance import ALL_USES, UsageConstraints
from services.core.domain.qa_pair import LabelingMode
from services.core.domain.review import QueueFilter, ReviewAction, SeenLabel
from services.core.errors import StaleWriteError, ValidationError
from services.core.governance import usable_for
from services.core.jobs import JobRunner
from services.data.sheets import SheetService
from services.generate.generation import GenerationRequest, GenerationService
from services.labels.canonical_labels import CanonicalLabelService
from services.labels.constraint_audit import LabelConstraintAudit
from services.labels.labeling_session import LabelingSession
from services.review.actions import ReviewService
from services.review.bulk import BULK_LABEL_CONFIDENCE
from services.review.queue import ReviewQueue
from services.review.rules import template_of
from tests.review_builders import STARTING_LABELS, build_review_setup, generate, publish_template
from tests.test_sql_statements_parse_as_databricks import RecordingEngine

PHI = UsageConstraints(("evaluation", "few_shot", "testing"), ("training", "validation"), "Contains PHI", "restricted")


@pytest.fixture
def setup(invoice_source):
    return build_review_setup(invoice_source, with_source=False)


@pytest.fixture
def review(invoice_source):
    return ReviewService(invoice_source)


def _pair(wb, setup, ref):
    return next(p for p in GenerationService(wb).first_pairs(setup.training_sheet.id, 100) if p.item_ref == ref)


def _as(wb, email):
    """The same store, as another person (a second reviewer's session)."""
    return replace(wb, backend=replace(wb.backend, user=User(email, email.split("@")[0])))


def _count(wb, table, where="1 = 1", params=None):
    return wb.backend.engine.scalar(f"SELECT count(*) AS n FROM {wb.table(table)} WHERE {where}", params or {})


def test_approving_a_pair_creates_its_canonical_label_and_links_the_pair(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0010")
    outcome = review.approve(pair, pair.row_version)
    key = LabelKey(setup.sheet.id, "INV-0010", "classification")
    assert (outcome.pair.status, outcome.pair.canonical_label_id) == ("labeled", key.label_id)
    assert (outcome.pair.reviewed_by, outcome.pair.row_version) == ("tester@example.com", pair.row_version + 1)
    label = CanonicalLabelService(invoice_source).find(key)
    assert (label.label_data, label.version, label.content.confidence) == ({"urgency": "routine"}, 1, "high")
    assert label.constraints == pair.constraints
    [version] = CanonicalLabelService(invoice_source).history(key.label_id)
    assert (version.change_kind, version.source_qa_pair_id) == ("review", pair.id)
    [event] = review.history(pair.id)
    assert (event.action, event.new_status, event.actor) == ("approve", "labeled", "tester@example.com")


def test_editing_then_approving_stores_the_edit_and_keeps_the_original_response(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0012")
    outcome = review.approve(pair, pair.row_version, response='{"urgency": "urgent"}', note="Past-due notice attached")
    assert outcome.pair.response == '{"urgency": "urgent"}'
    assert outcome.pair.original_response == '{"urgency": "routine"}'
    assert outcome.pair.review_notes == "Past-due notice attached"
    assert outcome.label.label_data == {"urgency": "urgent"}
    assert [e.action for e in review.history(pair.id)] == ["edit"]


def test_editing_a_pre_approved_pair_makes_a_new_version_of_its_label(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0001")
    assert (pair.status, pair.labeling_mode) == ("labeled", "canonical")
    outcome = review.approve(pair, pair.row_version, response='{"urgency": "urgent"}')
    labels = CanonicalLabelService(invoice_source)
    assert (outcome.label.version, outcome.label.label_data) == (2, {"urgency": "urgent"})
    assert [(v.version, v.change_kind) for v in labels.history(outcome.label.id)] == [(1, "create"), (2, "review")]
    assert outcome.pair.original_response == '{"urgency": "routine"}'  # the label's answer it arrived with


def test_rejecting_and_flagging_record_the_reviewer_and_a_flag_needs_a_note(invoice_source, setup, review):
    rejected = review.reject(_pair(invoice_source, setup, "INV-0020"), 1, note="Not an invoice").pair
    assert (rejected.status, rejected.review_notes, rejected.canonical_label_id) == ("rejected", "Not an invoice", None)
    pair = _pair(invoice_source, setup, "INV-0021")
    with pytest.raises(ValidationError, match="Write a note"):
        review.flag(pair, 1, note="  ")
    assert _pair(invoice_source, setup, "INV-0021").status == "unlabeled"
    flagged = review.flag(pair, 1, note="Ask billing about the amount").pair
    assert (flagged.status, flagged.reviewed_by) == ("flagged", "tester@example.com")
    assert CanonicalLabelService(invoice_source).count(setup.sheet.id) == STARTING_LABELS  # no label from a reject or flag


def test_undoing_an_approval_restores_the_pair_and_removes_the_label_it_created(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0010")
    review.approve(pair, 1, response='{"urgency": "urgent"}')
    undone = review.undo_last(setup.training_sheet.id)
    assert (undone.pair.status, undone.pair.response, undone.pair.canonical_label_id) == ("unlabeled", pair.response, None)
    assert (undone.pair.reviewed_by, undone.pair.original_response, undone.pair.row_version) == (None, pair.original_response, 3)
    key = LabelKey(setup.sheet.id, "INV-0010", "classification")
    assert CanonicalLabelService(invoice_source).find(key) is None
    assert CanonicalLabelService(invoice_source).history(key.label_id) == []
    events = review.history(pair.id)
    assert [e.action for e in events] == ["edit", "undo"]
    assert events[0].undone_at is not None
    with pytest.raises(ValidationError, match="Nothing to undo"):
        review.undo_last(setup.training_sheet.id)


def test_undoing_an_approval_of_a_labeled_item_rolls_its_label_back(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0003")
    review.approve(pair, 1, response='{"urgency": "routine"}')
    review.undo_last(setup.training_sheet.id)
    labels = CanonicalLabelService(invoice_source)
    label = labels.find(LabelKey(setup.sheet.id, "INV-0003", "classification"))
    assert (label.version, label.label_data) == (3, {"urgency": "urgent"})
    assert [v.change_kind for v in labels.history(label.id)] == ["create", "review", "rollback"]
    restored = _pair(invoice_source, setup, "INV-0003")
    assert (restored.status, restored.labeling_mode, restored.response) == ("labeled", "canonical", '{"urgency": "urgent"}')


def test_undo_takes_back_one_action_at_a_time_most_recent_first(invoice_source, setup, review):
    review.reject(_pair(invoice_source, setup, "INV-0030"), 1)
    review.flag(_pair(invoice_source, setup, "INV-0031"), 1, "unsure")
    assert review.undo_last(setup.training_sheet.id).pair.item_ref == "INV-0031"
    assert review.undo_last(setup.training_sheet.id).pair.item_ref == "INV-0030"
    assert {_pair(invoice_source, setup, r).status for r in ("INV-0030", "INV-0031")} == {"unlabeled"}


def test_a_stale_review_is_refused_naming_the_other_reviewer_and_changes_nothing(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0014")  # both reviewers opened the card at version 1
    ReviewService(_as(invoice_source, "dana@mirion.example")).reject(pair, pair.row_version, note="Duplicate")
    with pytest.raises(StaleWriteError, match=r"dana@mirion.example rejected this pair at .* UTC.*Your edit was not saved"):
        review.approve(pair, pair.row_version, response='{"urgency": "urgent"}')
    current = _pair(invoice_source, setup, "INV-0014")
    assert (current.status, current.reviewed_by, current.response) == ("rejected", "dana@mirion.example", pair.response)
    assert CanonicalLabelService(invoice_source).find(LabelKey(setup.sheet.id, "INV-0014", "classification")) is None
    assert [e.actor for e in review.history(pair.id)] == ["dana@mirion.example"]


def test_an_approval_carrying_the_label_its_card_read_is_refused_when_someone_labeled_the_item_since(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0015")
    seen = SeenLabel(None)  # the card showed no label for the item
    dana = CanonicalLabelService(_as(invoice_source, "dana@mirion.example"))
    dana.save(LabelKey(setup.sheet.id, "INV-0015", "classification"), LabelContent({"urgency": "urgent"}), 0)
    with pytest.raises(StaleWriteError, match=r"dana@mirion.example labeled INV-0015 \(classification\) while you were working"):
        review.approve(pair, pair.row_version, seen=seen)
    assert _pair(invoice_source, setup, "INV-0015") == pair  # nothing written: the pair is as it was
    label = CanonicalLabelService(invoice_source).find(LabelKey(setup.sheet.id, "INV-0015", "classification"))
    assert (label.label_data, label.version) == ({"urgency": "urgent"}, 1)
    assert review.history(pair.id) == []
    current = SeenLabel(label)  # the card, shown again, reads dana's label: the approval then updates it
    assert review.approve(pair, pair.row_version, seen=current).label.version == 2


def test_an_approval_that_keeps_the_response_neither_rewrites_nor_records_the_messages(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0016")
    statements = RecordingEngine(invoice_source.backend.engine)
    recorded = ReviewService(replace(invoice_source, backend=replace(invoice_source.backend, engine=statements)))
    recorded.approve(pair, pair.row_version, seen=SeenLabel(None))
    [update] = [sql for sql in statements.statements if sql.startswith(f"UPDATE {invoice_source.table('qa_pairs')}")]
    assert "messages" not in update
    assert not any(sql.startswith("SELECT id, sheet_id, item_ref") for sql in statements.statements)  # the card's label, not read again
    [event] = review.history(pair.id)
    assert '"messages": null' in event.previous_state
    review.undo_last(setup.training_sheet.id)
    assert _pair(invoice_source, setup, "INV-0016").messages == pair.messages


def test_undo_refuses_when_someone_changed_the_pair_since(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0015")
    after = review.approve(pair, 1).pair
    ReviewService(_as(invoice_source, "dana@mirion.example")).flag(after, after.row_version, "Check the amount")
    with pytest.raises(StaleWriteError, match=r"dana@mirion\.example flagged this pair"):
        review.undo_last(setup.training_sheet.id)
    assert _pair(invoice_source, setup, "INV-0015").status == "flagged"


def test_changing_usage_constraints_writes_the_audit_and_updates_the_linked_label(invoice_source, setup, review):
    pair = review.approve(_pair(invoice_source, setup, "INV-0016"), 1).pair
    changed = review.change_constraints(pair, pair.row_version, PHI)
    assert not changed.constraints.permits("training") and changed.constraints.data_classification == "restricted"
    label = CanonicalLabelService(invoice_source).get(pair.canonical_label_id)
    assert label.constraints == changed.constraints and label.version == 2
    [created, audit] = review.constraint_audit(pair.id)
    assert (created.old, created.new) == (None, replace(pair.constraints, usage_reason=""))  # the approval made the label
    assert (audit.qa_pair_id, audit.canonical_label_id, audit.modified_by) == (pair.id, label.id, "tester@example.com")
    assert audit.old.allowed_uses == pair.constraints.allowed_uses and audit.new.prohibited_uses == ("training", "validation")
    assert (audit.old.data_classification, audit.new.data_classification, audit.reason) == ("internal", "restricted", "Contains PHI")


def test_a_constraint_change_needs_a_reason_and_known_uses_and_changes_nothing_otherwise(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0017")
    with pytest.raises(ValidationError, match="Give a reason"):
        review.change_constraints(pair, 1, replace(PHI, usage_reason=""))
    with pytest.raises(ValidationError, match="both allowed and prohibited"):
        review.change_constraints(pair, 1, UsageConstraints(("training",), ("training",), "why"))
    with pytest.raises(StaleWriteError):
        review.change_constraints(pair, 7, PHI)
    assert _pair(invoice_source, setup, "INV-0017").constraints == pair.constraints
    assert _count(invoice_source, "usage_constraint_audit") == 0


def test_an_invalid_json_response_is_refused_with_the_parse_error_and_nothing_changes(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0018")
    with pytest.raises(ValidationError, match=r"not valid JSON: Expecting ',' delimiter \(line 1, column 22\)"):
        review.approve(pair, 1, response='{"urgency": "urgent" "note": 1}')
    with pytest.raises(ValidationError, match="'emergency'; allowed: routine, urgent"):
        review.approve(pair, 1, response='{"urgency": "emergency"}')
    with pytest.raises(ValidationError, match="response is empty"):
        review.approve(pair, 1, response="   ")
    assert _pair(invoice_source, setup, "INV-0018") == pair
    assert _count(invoice_source, "review_events") == 0
    assert review.response_problems(setup.training_sheet.id, '{"urgency": "urgent"}') == []


def test_a_free_text_label_type_takes_any_answer_as_its_label(invoice_source, setup, review):
    template = publish_template(invoice_source, "summarization")
    training_sheet = generate(invoice_source, setup.sheet.id, template.id, LabelingMode.MANUAL)
    pair = next(p for p in GenerationService(invoice_source).first_pairs(training_sheet.id, 5) if p.item_ref == "INV-0000")
    assert pair.response == ""
    outcome = review.approve(pair, 1, response="A routine visit; nothing is past due.")
    assert outcome.label.label_data == {"text": "A routine visit; nothing is past due."}


def test_bulk_approval_over_a_confidence_filter_is_one_event_and_creates_every_label_with_its_version(invoice_source, setup, review):
    ts = setup.training_sheet.id
    pairs = GenerationService(invoice_source).first_pairs(ts, 100)
    review.reject(next(p for p in pairs if p.ai_confidence and p.ai_confidence >= 0.95), 1)  # a person decided this one
    high = [p for p in pairs if p.status == "unlabeled" and p.ai_confidence >= 0.95][1:]
    queue = QueueFilter(confidence_min=0.95)
    plan = review.plan_bulk(ts, queue, ReviewAction.BULK_APPROVE)
    assert (plan.count, plan.decided) == (len(high), 1)
    result = review.bulk_approve(ts, queue, note="High-confidence drafts")
    assert result.changed == len(high)
    [event] = [e for e in review.recent_events(ts) if e.action == "bulk_approve"]
    assert (event.affected_count, QueueFilter.from_json(event.bulk_filter), event.qa_pair_id) == (len(high), queue, None)
    labels = CanonicalLabelService(invoice_source)
    for pair in high:
        after = ReviewQueue(invoice_source).pair(pair.id)
        assert (after.status, after.canonical_label_id, after.reviewed_by) == ("labeled", LabelKey(setup.sheet.id, pair.item_ref, "classification").label_id, "tester@example.com")
        label = labels.get(after.canonical_label_id)
        assert (label.label_data, label.content.confidence) == ({"urgency": "urgent" if "urgent" in pair.response else "routine"}, BULK_LABEL_CONFIDENCE)
        assert [(v.version, v.change_kind, v.source_qa_pair_id) for v in labels.history(label.id)] == [(1, "review", pair.id)]
    assert labels.count(setup.sheet.id) == STARTING_LABELS + len(high)
    assert review.plan_bulk(ts, queue, ReviewAction.BULK_APPROVE).count == 0  # nothing left to decide


def test_bulk_actions_are_set_based_whatever_the_number_of_pairs(invoice_source, setup):
    recorder = RecordingEngine(invoice_source.backend.engine)
    recorded = replace(invoice_source, backend=replace(invoice_source.backend, engine=recorder))
    result = ReviewService(recorded).bulk_approve(setup.training_sheet.id, QueueFilter(confidence_min=0.9))
    assert result.changed > 15
    writes = [s.split(" USING")[0].split(" (")[0] for s in recorder.statements if s.startswith(("INSERT", "UPDATE", "MERGE", "DELETE"))]
    assert writes == [
        "MERGE INTO mirion_vital.workbench.canonical_labels AS t",
        "INSERT INTO mirion_vital.workbench.canonical_label_versions",
        "INSERT INTO mirion_vital.workbench.usage_constraint_audit",
        "MERGE INTO mirion_vital.workbench.qa_pairs AS t",
        "INSERT INTO mirion_vital.workbench.review_events",
    ]
    recorder.statements.clear()
    assert ReviewService(recorded).bulk_reject(setup.training_sheet.id, QueueFilter(confidence_max=0.92)).changed > 1
    writes = [s.split(" SET")[0].split(" (")[0] for s in recorder.statements if s.startswith(("INSERT", "UPDATE", "MERGE", "DELETE"))]
    assert writes == ["UPDATE mirion_vital.workbench.qa_pairs", "INSERT INTO mirion_vital.workbench.review_events"]


def test_bulk_approval_leaves_out_empty_invalid_and_already_labeled_items(invoice_source, setup, review):
    template = publish_template(invoice_source, "classification", name="Invoice urgency v2")
    CanonicalLabelService(invoice_source).save(LabelKey(setup.sheet.id, "INV-0005", "classification"), LabelContent({"urgency": "urgent"}), 0)
    manual = generate(invoice_source, setup.sheet.id, template.id, LabelingMode.MANUAL)
    ten = QueueFilter(search="INV-000")
    plan = review.plan_bulk(manual.id, ten, ReviewAction.BULK_APPROVE)
    assert (plan.in_queue, plan.count, plan.decided, plan.no_response, plan.item_labeled) == (10, 0, 4, 6, 0)
    provider_as_answer = GenerationRequest(setup.sheet.id, template.id, LabelingMode.EXISTING_COLUMN, source_column="provider_name")
    service = GenerationService(invoice_source)
    started = service.start(provider_as_answer)
    JobRunner(invoice_source).wait(started.job_id, 120)
    # Labeled in the Canonical Labeling Tool after this Training Sheet was generated:
    CanonicalLabelService(invoice_source).save(LabelKey(setup.sheet.id, "INV-0006", "classification"), LabelContent({"urgency": "urgent"}), 0)
    plan = review.plan_bulk(started.id, ten, ReviewAction.BULK_APPROVE)
    assert (plan.count, plan.decided, plan.invalid, plan.item_labeled) == (0, 4, 5, 1)
    assert "5 whose response does not match the output schema" in plan.reasons()
    assert review.bulk_approve(started.id, ten).changed == 0


def test_bulk_rejection_of_low_confidence_pairs_is_one_statement_and_spares_decided_pairs(invoice_source, setup, review):
    ts = setup.training_sheet.id
    pairs = GenerationService(invoice_source).first_pairs(ts, 100)
    low = [p for p in pairs if p.ai_confidence is not None and p.ai_confidence < 0.92]
    review.approve(low[0], 1)
    result = review.bulk_reject(ts, QueueFilter(confidence_max=0.92), note="Too unsure")
    assert result.changed == len(low) - 1
    assert ReviewQueue(invoice_source).pair(low[0].id).status == "labeled"
    assert {ReviewQueue(invoice_source).pair(p.id).status for p in low[1:]} == {"rejected"}
    with pytest.raises(ValidationError, match=r"bulk rejection of \d+ pairs \(AI confidence ≤ 0.92\)"):
        review.undo_last(ts)


def test_an_approved_item_arrives_pre_approved_in_the_next_training_sheet(invoice_source, setup, review):
    """The demo's wow moment: approve in Mode A, regenerate with another template of the same
    label type, and the item needs no review."""
    pair = _pair(invoice_source, setup, "INV-0010")
    review.approve(pair, 1, response='{"urgency": "urgent"}')
    better_prompt = publish_template(invoice_source, "classification", name="Invoice urgency, better prompt")
    regenerated = generate(invoice_source, setup.sheet.id, better_prompt.id, LabelingMode.AI_GENERATED)
    again = next(p for p in GenerationService(invoice_source).first_pairs(regenerated.id, 100) if p.item_ref == "INV-0010")
    assert (again.status, again.labeling_mode, again.response) == ("labeled", "canonical", '{"urgency": "urgent"}')
    assert again.canonical_label_id == LabelKey(setup.sheet.id, "INV-0010", "classification").label_id
    assert regenerated.counts.canonical == STARTING_LABELS + 1  # the labels it started with, and this one
    with pytest.raises(ValidationError, match="already reused by 1 pair"):
        review.undo_last(setup.training_sheet.id)
    assert _pair(invoice_source, setup, "INV-0010").status == "labeled"


def test_approving_an_older_pair_never_loosens_its_items_restricted_label(invoice_source, setup, review):
    """A privacy officer restricts a label; a reviewer then approves the item's pair from an older
    Training Sheet: the label keeps its restriction, the pair takes it on, and both are on record."""
    older = _pair(invoice_source, setup, "INV-0003")  # pre-approved when the label allowed every use
    assert older.constraints.permits("training")
    officer = LabelingSession(_as(invoice_source, "privacy@mirion.example"), SheetService(invoice_source).with_tags(setup.sheet), "classification")
    label = officer.label("INV-0003")
    officer.save("INV-0003", label.label_data, label.version, constraints=PHI)

    outcome = review.approve(older, older.row_version, response='{"urgency": "routine"}')
    assert outcome.label.label_data == {"urgency": "routine"}  # a review writes label data
    assert outcome.label.constraints == PHI  # and never the label's governance
    assert outcome.pair.constraints.prohibited_uses == ("training", "validation")
    assert outcome.pair.constraints.data_classification == "restricted"
    stored = ReviewQueue(invoice_source).pair(older.id)
    assert stored.constraints == outcome.pair.constraints and not usable_for(stored.status, stored.constraints, "training")
    audits = LabelConstraintAudit(invoice_source).for_label(label.id)
    assert [a.modified_by for a in audits] == ["privacy@mirion.example", "tester@example.com"]
    assert "training" not in audits[-1].after.split(";")[0]  # the pair's change only tightens
    regenerated = generate(invoice_source, setup.sheet.id, publish_template(invoice_source, name="Urgency v2").id, LabelingMode.MANUAL)
    again = next(p for p in GenerationService(invoice_source).first_pairs(regenerated.id, 100) if p.item_ref == "INV-0003")
    assert (again.labeling_mode, again.response) == ("canonical", '{"urgency": "routine"}')
    assert not again.constraints.permits("training")


def test_a_label_an_approval_creates_takes_the_pairs_constraints_on_the_record(invoice_source, setup, review):
    pair = _pair(invoice_source, setup, "INV-0011")
    label = review.approve(pair, pair.row_version).label
    assert label.constraints == pair.constraints
    [created] = LabelConstraintAudit(invoice_source).for_label(label.id)
    assert (created.before, created.modified_by) == ("(none)", "tester@example.com")
    assert created.reason.startswith("New canonical label from an approved pair")
    [row] = review.constraint_audit(pair.id)
    assert (row.old, row.new, row.canonical_label_id) == (None, replace(pair.constraints, usage_reason=""), label.id)


def test_every_label_a_bulk_approval_creates_is_audited_in_one_statement(invoice_source, setup, review):
    ts = setup.training_sheet.id
    result = review.bulk_approve(ts, QueueFilter(confidence_min=0.95))
    assert result.changed > 0
    linked = _count(invoice_source, "qa_pairs", "training_sheet_id = :ts AND reviewed_by IS NOT NULL", {"ts": ts})
    audited = _count(invoice_source, "usage_constraint_audit", "old_allowed_uses IS NULL AND modified_by = 'tester@example.com'")
    assert audited == linked == result.changed


class _WarehouseRefusingTemplates(RecordingEngine):
    """A warehouse as one user sees it: their grants do not include the templates table."""

    def query(self, sql, params=None):
        if "workbench.templates" in sql:
            raise SqlError("[INSUFFICIENT_PERMISSIONS] User does not have SELECT on Table 'mirion_vital.workbench.templates'.")
        return super().query(sql, params)


def test_a_template_looked_up_for_one_user_is_never_served_to_a_user_the_warehouse_refuses(invoice_source, setup):
    ts = setup.training_sheet.id
    assert template_of(invoice_source, ts).id == setup.template.id  # cached for tester
    mallory = _as(invoice_source, "mallory@example.com")
    refused = replace(mallory, backend=replace(mallory.backend, engine=_WarehouseRefusingTemplates(invoice_source.backend.engine)))
    with pytest.raises(SqlError, match="INSUFFICIENT_PERMISSIONS"):
        template_of(refused, ts)
    assert template_of(invoice_source, ts).id == setup.template.id


def test_a_constraint_edit_on_a_pair_still_answers_to_its_sources_current_tags(invoice_source, setup, review):
    approved = review.approve(_pair(invoice_source, setup, "INV-0019"), 1).pair
    invoice_source.backend.catalog.set_table_tags("mirion_vital.raw.invoices", {"PHI": "restricted"})
    cleared = UsageConstraints(usage_reason="De-identified by billing")
    changed = review.change_constraints(approved, approved.row_version, cleared)
    label = CanonicalLabelService(invoice_source).get(approved.canonical_label_id)
    assert label.constraints == cleared  # the label records what the person decided
    assert not changed.constraints.permits("training") and changed.constraints.data_classification == "restricted"
    assert changed.constraints.usage_reason == "Source tagged PHI in Unity Catalog; label: De-identified by billing"
    created, *edits = review.constraint_audit(approved.id)
    assert created.old is None and len(edits) == 2  # the pair's change, and the label's (written together)
    pair_row, label_row = sorted(edits, key=lambda a: len(a.new.prohibited_uses), reverse=True)
    assert (pair_row.new.prohibited_uses, pair_row.canonical_label_id) == (("training", "validation"), label.id)
    assert (label_row.old.allowed_uses, label_row.new.allowed_uses, label_row.reason) == (ALL_USES, ALL_USES, "De-identified by billing")
