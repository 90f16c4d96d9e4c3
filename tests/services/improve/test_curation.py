"""Routing feedback to curation: new unlabeled pairs in a Training Sheet (governed by their source,
naming their feedback), a new canonical label version, a flag for a senior expert; each moves the
feedback's status, and a stale one is refused."""

from __future__ import annotations

import json

import pytest

from services.core.domain.canonical_label import LabelKey
from services.core.domain.review import QueueFilter
from services.core.errors import StaleWriteError, ValidationError
from services.core.governance import usable_for
from services.generate.training_sheets_store import TrainingSheetsStore
from services.improve.capture import FeedbackCapture, FeedbackInput
from services.improve.curation import FeedbackCuration
from services.improve.feedback_store import FeedbackStore
from services.improve.queue import FeedbackQueue, QueueFilters
from services.improve.records import FeedbackOrigin, FeedbackStatus
from services.labels.canonical_labels import CanonicalLabelService
from services.review.queue import ReviewQueue
from tests.improve_builders import deployed_model, model_sheet_id
from tests.monitor_builders import logged_request, write_log


def _queue_with_feedback(wb, free_prompt: bool = False):
    model = deployed_model(wb)
    sheet_id = model_sheet_id(wb, model)
    records = [logged_request(1, sheet_id=sheet_id, item_ref="INV-0001"), logged_request(2, sheet_id=sheet_id, item_ref="INV-0002")]
    if free_prompt:
        records.append(logged_request(3))
    write_log(wb, records)
    capture = FeedbackCapture(wb)
    capture.submit("log-1-1", FeedbackInput("down", correction='{"urgency": "urgent"}', comment="Overdue."), FeedbackOrigin.API)
    capture.submit("log-1-2", FeedbackInput("down"), FeedbackOrigin.MONITOR)
    if free_prompt:
        capture.submit("log-1-3", FeedbackInput("down"), FeedbackOrigin.PLAYGROUND)
    return model, sheet_id, {i.inference_log_id: i for i in FeedbackQueue(wb).items()}


def _pairs(wb, training_sheet_id: str) -> list[dict]:
    return wb.backend.engine.query(
        f"SELECT id, item_ref, status, original_response, messages, feedback_id, allowed_uses, prohibited_uses, data_classification, "
        f"ordinal FROM {wb.table('qa_pairs')} WHERE training_sheet_id = :id ORDER BY ordinal", {"id": training_sheet_id})


def test_feedback_becomes_unlabeled_pairs_in_a_new_training_sheet_with_the_correction_as_draft(workbench):
    model, sheet_id, items = _queue_with_feedback(workbench)
    added = FeedbackCuration(workbench).add_to_training_sheet([items["log-1-1"], items["log-1-2"]], new_name="Urgency from production")
    sheet = added.training_sheet
    assert (added.pair_count, sheet.sheet_id, sheet.template_id, sheet.counts.unlabeled) == (2, sheet_id, model.template_id, 2)
    pairs = {p["item_ref"]: p for p in _pairs(workbench, sheet.id)}
    corrected = pairs["INV-0001"]
    assert corrected["status"] == "unlabeled" and corrected["original_response"] == '{"urgency": "routine"}'  # the model's
    assert corrected["feedback_id"] == items["log-1-1"].id
    turns = json.loads(corrected["messages"])
    assert [t["role"] for t in turns] == ["system", "user", "assistant"] and turns[1]["content"] == "Invoice INV-0042 for 420.00."
    assert json.loads(turns[2]["content"]) == {"urgency": "urgent"}  # the correction is the draft
    assert json.loads(pairs["INV-0002"]["messages"])[-1]["content"] == '{"urgency": "routine"}'  # no correction: the model's answer, to fix
    assert sorted(p["ordinal"] for p in pairs.values()) == [1, 2]
    assert corrected["data_classification"] == "internal" and "training" not in (corrected["prohibited_uses"] or [])
    moved = FeedbackStore(workbench).get(items["log-1-1"].id)
    assert (moved.status, moved.training_sheet_id, moved.qa_pair_id) == (FeedbackStatus.ADDED_TO_TRAINING_SHEET, sheet.id, corrected["id"])
    assert FeedbackQueue(workbench).items() == []


def test_pairs_added_to_an_existing_training_sheet_follow_its_pairs_and_take_the_sources_current_tags(workbench):
    model, _, items = _queue_with_feedback(workbench)
    workbench.backend.catalog.set_table_tags("mirion_vital.raw.invoices", {"PHI": "true"})
    curation = FeedbackCuration(workbench)
    assert [t.id for t in curation.training_sheets_for([items["log-1-1"]])] == [model.training_sheet_id]
    curation.add_to_training_sheet([items["log-1-1"]], training_sheet_id=model.training_sheet_id)
    pairs = _pairs(workbench, model.training_sheet_id)
    [added] = [p for p in pairs if p["feedback_id"]]
    assert added["ordinal"] == max(p["ordinal"] for p in pairs if not p["feedback_id"]) + 1
    assert added["data_classification"] == "restricted" and "training" in added["prohibited_uses"]


def test_a_free_prompt_or_a_stale_item_adds_nothing(workbench):
    model, _, items = _queue_with_feedback(workbench, free_prompt=True)
    curation = FeedbackCuration(workbench)
    with pytest.raises(ValidationError, match="Only answers to a sheet item"):
        curation.add_to_training_sheet([items["log-1-1"], items["log-1-3"]], new_name="Mixed")
    FeedbackStore(workbench).set_status(items["log-1-2"].id, FeedbackStatus.FLAGGED, by="senior@example.com", expected_version=1)
    with pytest.raises(StaleWriteError, match=r"senior@example\.com"):
        curation.add_to_training_sheet([items["log-1-1"], items["log-1-2"]], training_sheet_id=model.training_sheet_id)
    with pytest.raises(StaleWriteError):
        curation.add_to_training_sheet([items["log-1-1"], items["log-1-2"]], new_name="Stale")
    feedback_pairs = workbench.backend.engine.query_one(
        f"SELECT count(*) AS n FROM {workbench.table('qa_pairs')} WHERE feedback_id IS NOT NULL")["n"]
    assert feedback_pairs == 0 and FeedbackStore(workbench).get(items["log-1-1"].id).status is FeedbackStatus.OPEN
    assert not {"Mixed", "Stale"} & {t.name for t in TrainingSheetsStore(workbench.backend.engine, workbench.table("training_sheets"),
                                                                workbench.table("qa_pairs")).list()}


def test_update_canonical_label_writes_a_new_version_with_the_correction(workbench):
    _, sheet_id, items = _queue_with_feedback(workbench)
    labels = CanonicalLabelService(workbench)
    key = LabelKey(sheet_id, "INV-0001", "classification")
    before = labels.find(key)
    version = FeedbackCuration(workbench).update_canonical_label(items["log-1-1"])
    after = labels.find(key)
    assert after is not None and after.content.label_data == {"urgency": "urgent"} and version == after.version
    assert before is None or (after.version == before.version + 1 and after.content.constraints == before.content.constraints)
    assert labels.history(after.id)[-1].version == after.version
    assert FeedbackStore(workbench).get(items["log-1-1"].id).status is FeedbackStatus.LABEL_UPDATED


def test_flagging_for_a_senior_expert_needs_a_note_and_keeps_it(workbench):
    _, _, items = _queue_with_feedback(workbench)
    curation = FeedbackCuration(workbench)
    with pytest.raises(ValidationError, match="senior expert"):
        curation.flag([items["log-1-2"]], "  ")
    curation.flag([items["log-1-2"]], "Looks like a test request.")
    flagged = FeedbackQueue(workbench).items(QueueFilters(status=FeedbackStatus.FLAGGED))
    assert [(i.inference_log_id, i.flag_note) for i in flagged] == [("log-1-2", "Looks like a test request.")]


def test_pairs_from_feedback_are_marked_and_filtered_in_the_label_queue_and_need_approval(workbench):
    model, _, items = _queue_with_feedback(workbench)
    FeedbackCuration(workbench).add_to_training_sheet([items["log-1-1"]], training_sheet_id=model.training_sheet_id)
    queue = ReviewQueue(workbench)
    every = queue.page(model.training_sheet_id, QueueFilter()).pairs
    [from_feedback] = queue.page(model.training_sheet_id, QueueFilter(from_feedback=True)).pairs
    assert len(every) > 1 and from_feedback.feedback_id == items["log-1-1"].id
    assert from_feedback.status == "unlabeled" and not usable_for(from_feedback.status, from_feedback.constraints, "training")


def test_a_stale_label_update_leaves_the_label_as_it_was(workbench):
    _, sheet_id, items = _queue_with_feedback(workbench)
    key = LabelKey(sheet_id, "INV-0001", "classification")
    before = CanonicalLabelService(workbench).find(key)
    FeedbackStore(workbench).set_status(items["log-1-1"].id, FeedbackStatus.DISMISSED, by="other@example.com", expected_version=1)
    with pytest.raises(StaleWriteError, match=r"other@example\.com"):
        FeedbackCuration(workbench).update_canonical_label(items["log-1-1"])  # read before it was dismissed
    assert CanonicalLabelService(workbench).find(key) == before


def test_a_request_holding_personal_data_makes_a_pair_that_may_never_be_trained_on(workbench):
    model = deployed_model(workbench)
    sheet_id = model_sheet_id(workbench, model)
    write_log(workbench, [logged_request(1, sheet_id=sheet_id, item_ref="INV-0001"),
                          logged_request(2, sheet_id=sheet_id, item_ref="INV-0002", prompt="Bill jane.doe@example.com for INV-0002.")])
    capture = FeedbackCapture(workbench)
    capture.submit("log-1-1", FeedbackInput("down"), FeedbackOrigin.API)
    capture.submit("log-1-2", FeedbackInput("down"), FeedbackOrigin.API)
    added = FeedbackCuration(workbench).add_to_training_sheet(FeedbackQueue(workbench).items(), new_name="Mixed requests")
    pairs = {p["item_ref"]: p for p in _pairs(workbench, added.training_sheet.id)}
    assert pairs["INV-0002"]["data_classification"] == "restricted" and "training" in pairs["INV-0002"]["prohibited_uses"]
    assert pairs["INV-0001"]["data_classification"] == "internal" and "training" not in (pairs["INV-0001"]["prohibited_uses"] or [])
