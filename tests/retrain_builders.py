"""Feedback-derived pairs as IMPROVE's "Add to Training Sheet" makes them, for the retrain tests.

A feedback row is written through FeedbackStore on a logged prediction of the model; its pair
joins the model's Training Sheet unlabeled, the correction as its draft answer and
`qa_pairs.feedback_id` naming the feedback; an expert then approves it through LABEL's review.
"""

from __future__ import annotations

import uuid

from services.core.domain.qa_pair import Message, messages_from_json, messages_to_json
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.generate.qa_pairs_store import QaPairsStore
from services.improve.feedback_store import FeedbackStore
from services.improve.records import FeedbackKind, FeedbackOrigin, NewFeedback
from services.review.actions import ReviewService
from tests.job_works import stop_all_jobs
from tests.monitor_builders import logged_request, write_log
from tests.train_model_builders import LabeledSheet, labeled_training_sheet, recorded_run

MODEL = "invoices_urgency_lora"
FIRST_FEEDBACK_ITEM = 100  # items of the invoice source the Training Sheet's sample never held


def feedback_pairs(wb: Workbench, training_sheet_id: str, count: int, *, first: int = 0, model_name: str = MODEL,
                   approve: bool = True) -> list[tuple[str, str]]:
    """`count` corrections of the model's answers, each added to the Training Sheet as a pair
    (and approved by an expert unless `approve` is False): (feedback id, pair id) each."""
    if count == 0:
        return []
    engine, pairs = wb.backend.engine, wb.table("qa_pairs")
    write_log(wb, [logged_request(first + i, model_name=model_name, item_ref=f"INV-{FIRST_FEEDBACK_ITEM + first + i:04d}")
                   for i in range(count)])
    model_pair = engine.query_one(f"SELECT id, messages FROM {pairs} WHERE training_sheet_id = :id ORDER BY ordinal LIMIT 1",
                                  {"id": training_sheet_id})
    store, made = FeedbackStore(wb), []
    for i in range(first, first + count):
        feedback = store.add(NewFeedback(f"log-1-{i}", FeedbackKind.CORRECTION, FeedbackOrigin.PLAYGROUND, "expert@example.com",
                                         value="down", correction='{"urgency": "urgent"}'))
        pair_id = str(uuid.uuid4())
        prompt = messages_from_json(model_pair["messages"])[:-1]
        engine.execute(
            f"INSERT INTO {pairs} (id, training_sheet_id, sheet_id, item_ref, ordinal, label_type, messages, original_response, "
            "status, labeling_mode, allowed_uses, prohibited_uses, data_classification, created_at, row_version, feedback_id) "
            "SELECT :id, training_sheet_id, sheet_id, :item_ref, 10000 + :i, label_type, :messages, :correction, 'unlabeled', "
            f"'manual', allowed_uses, prohibited_uses, data_classification, current_timestamp(), 1, :feedback_id FROM {pairs} WHERE id = :model_pair",
            {"id": pair_id, "item_ref": f"INV-{FIRST_FEEDBACK_ITEM + i:04d}", "i": i, "correction": feedback.correction,
             "messages": messages_to_json((*prompt, Message("assistant", feedback.correction or ""))),
             "feedback_id": feedback.id, "model_pair": model_pair["id"]},
        )
        made.append((feedback.id, pair_id))
    if approve:
        approve_pairs(wb, [p for _, p in made])
    return made


def approve_pairs(wb: Workbench, pair_ids: list[str]) -> None:
    store, review = QaPairsStore(wb.backend.engine, wb.table("qa_pairs")), ReviewService(wb)
    for pair_id in pair_ids:
        pair = store.get(pair_id)
        assert pair is not None
        review.approve(pair, pair.row_version)


def trained_model_with_feedback(wb: Workbench, approved: int, unapproved: int = 0) -> tuple[LabeledSheet, list[tuple[str, str]]]:
    """The urgency model v1 (a recorded run on 4 + 2 of 8 labeled pairs) and feedback-derived pairs
    added to its Training Sheet since: `approved` approved, then `unapproved` still unlabeled."""
    labeled = labeled_training_sheet(wb, items=8)
    recorded_run(wb, (labeled.training_sheet.id,), labeled.pair_ids[:4], labeled.pair_ids[4:6], model_name=MODEL,
                 accuracy=0.5, base_accuracy=0.25)
    made = feedback_pairs(wb, labeled.training_sheet.id, approved)
    made += feedback_pairs(wb, labeled.training_sheet.id, unapproved, first=approved, approve=False)
    return labeled, made


def stop_jobs(runner: JobRunner) -> None:
    """Cancel every job until none is left running: a retrain's job starts a training job as it ends."""
    while any(not j.is_finished for j in runner.recent(limit=1000)):
        stop_all_jobs(runner)


def retrain_sql_flow(wb: Workbench) -> None:
    """Every statement the retrain store issues, without starting a job: for the Databricks SQL check."""
    from data_access.schema.migrate import migrate
    from services.improve.retrain import retrain_id
    from services.improve.retrain_records import Retrain, RetrainStatus
    from services.improve.retrain_store import RetrainStore
    from services.train.lineage import LineageService
    from services.train.version_comparison import VersionComparisonService

    migrate(wb.backend.engine, wb.settings)
    labeled, made = trained_model_with_feedback(wb, approved=2)
    store = RetrainStore(wb)
    sheets = store.trained_sheet_ids()
    [waiting] = store.waiting(sheets)
    store.waiting(sheets, MODEL)
    previous = store.latest_run_id(MODEL)
    assert previous is not None
    retrain = Retrain(retrain_id(MODEL, waiting.pair_ids), MODEL, previous, waiting.pair_ids, waiting.feedback_ids,
                      "export-1", None, "job-1", RetrainStatus.EXPORTING, None, "tester@example.com", False, None)
    assert store.claim(retrain) and not store.claim(retrain)
    store.set_training(retrain.id, previous)
    store.set_failed(retrain.id, "boom")
    store.set_exporting(retrain.id)
    store.set_exporting(retrain.id, "job-2")
    store.exporting()
    store.get(retrain.id)
    store.recent(5)
    store.recent(5, MODEL)
    store.save_rule(MODEL, 3, True, "tester@example.com")
    store.save_rule(MODEL, 4, False, "tester@example.com")
    store.rules()
    store.rules(enabled_only=True)
    store.record_check(MODEL, 2, "2 of 4", None)
    store.record_check(MODEL, 4, "started", retrain.id)
    recorded_run(wb, (labeled.training_sheet.id,), tuple(p for _, p in made), (), model_name=MODEL, accuracy=1.0,
                 base_accuracy=0.25, version="2")
    LineageService(wb).feedback_of(f"{MODEL}/2")
    versions = VersionComparisonService(wb)
    versions.previous_version(MODEL, "2")
    versions.compare(MODEL, "1", "2")
