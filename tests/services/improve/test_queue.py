"""The feedback queue on constructed feedback with known answers: low-confidence answers enter by
themselves (once), filters, severity, and near-duplicate requests grouped and ranked by impact."""

from __future__ import annotations

import pytest

from data_access.embeddings.factory import open_embedder
from data_access.embeddings.lexical import LexicalEmbedder
from data_access.embeddings.minilm_onnx import MiniLmOnnxEmbedder
from services.core.errors import ValidationError
from services.deploy.deployments_store import DeploymentsStore
from services.improve.capture import FeedbackCapture, FeedbackInput
from services.improve.feedback_store import FeedbackStore
from services.improve.queue import CONFIRMED, UNSURE, WRONG, FeedbackQueue, QueueFilters, RequestVectors
from services.improve.records import FeedbackKind, FeedbackOrigin, FeedbackStatus
from tests.improve_builders import deployed_model
from tests.monitor_builders import logged_request, write_log

LATE = "Invoice INV-0042 for 420.00 is three months overdue and the clinic is threatening collection."
LATE_AGAIN = "Invoice INV-0042 for 420.00 is three months overdue and the clinic threatens to send it to collection."
ROUTINE = "Quarterly maintenance contract for the dosimeter calibration bench, billed annually."


def _confidence(wb, values: dict[str, float]) -> None:
    for log_id, value in values.items():
        wb.backend.engine.execute(f"UPDATE {wb.table('inference_log')} SET confidence = :c WHERE id = :id", {"c": value, "id": log_id})


@pytest.fixture
def minilm(workbench) -> MiniLmOnnxEmbedder:
    embedder = open_embedder(workbench.settings)
    assert isinstance(embedder, MiniLmOnnxEmbedder), embedder.fallback_reason
    return embedder


def test_answers_under_the_endpoints_threshold_enter_the_queue_once_marked_low_confidence(workbench):
    deployed_model(workbench, threshold=0.6)
    write_log(workbench, [logged_request(i) for i in range(1, 5)])
    _confidence(workbench, {"log-1-1": 0.3, "log-1-2": 0.59, "log-1-3": 0.6})  # log-1-4 reports none
    queue = FeedbackQueue(workbench)
    assert queue.enqueue_low_confidence() == 2
    assert queue.enqueue_low_confidence() == 0
    items = queue.items()
    assert sorted(i.inference_log_id for i in items) == ["log-1-1", "log-1-2"]
    assert {(i.kind, i.origin, i.severity, i.created_by) for i in items} == {
        (FeedbackKind.LOW_CONFIDENCE, FeedbackOrigin.LOW_CONFIDENCE, UNSURE, "low-confidence rule")}
    assert items[0].model_id == "invoices_urgency_lora/1" and items[0].request == "Invoice INV-0042 for 420.00."


def test_an_endpoint_without_a_threshold_sends_nothing_by_itself(workbench):
    deployed_model(workbench)
    write_log(workbench, [logged_request(1)])
    _confidence(workbench, {"log-1-1": 0.01})
    assert FeedbackQueue(workbench).items() == []


def test_filters_and_severity_a_correction_or_thumbs_down_above_low_confidence_above_thumbs_up(workbench):
    deployed_model(workbench, threshold=0.5)
    write_log(workbench, [logged_request(1), logged_request(2), logged_request(3), logged_request(4, version="2")])
    _confidence(workbench, {"log-1-3": 0.2})
    capture = FeedbackCapture(workbench)
    capture.submit("log-1-1", FeedbackInput("up"), FeedbackOrigin.API)
    capture.submit("log-1-2", FeedbackInput("down", correction='{"urgency": "urgent"}'), FeedbackOrigin.API)
    capture.submit("log-2-4", FeedbackInput("down"), FeedbackOrigin.MONITOR)
    queue = FeedbackQueue(workbench)
    assert [(i.inference_log_id, i.severity) for i in queue.items()] == [
        ("log-1-2", WRONG), ("log-2-4", WRONG), ("log-1-3", UNSURE), ("log-1-1", CONFIRMED)]  # a correction leads a thumbs down
    assert [i.inference_log_id for i in queue.items(QueueFilters(model_version="2"))] == ["log-2-4"]
    assert [i.inference_log_id for i in queue.items(QueueFilters(value="up"))] == ["log-1-1"]
    assert [i.inference_log_id for i in queue.items(QueueFilters(kind=FeedbackKind.CORRECTION))] == ["log-1-2"]
    assert queue.items(QueueFilters(endpoint="elsewhere")) == []
    assert queue.choices() == {"endpoint": ["urgency"], "model_version": ["1", "2"]}


def test_a_handled_item_leaves_the_open_queue_and_shows_under_its_status(workbench):
    deployed_model(workbench)
    write_log(workbench, [logged_request(1)])
    FeedbackCapture(workbench).submit("log-1-1", FeedbackInput("down"), FeedbackOrigin.API)
    queue = FeedbackQueue(workbench)
    [item] = queue.items()
    FeedbackStore(workbench).set_status(item.id, FeedbackStatus.DISMISSED, by="e@example.com", expected_version=item.version)
    assert queue.items() == []
    assert [i.id for i in queue.items(QueueFilters(status=FeedbackStatus.DISMISSED))] == [item.id]


def test_near_duplicate_requests_are_one_group_and_a_repeated_pattern_outranks_a_graver_one_off(workbench, minilm):
    deployed_model(workbench)
    write_log(workbench, [logged_request(1, prompt=LATE), logged_request(2, prompt=LATE_AGAIN), logged_request(3, prompt=ROUTINE)])
    capture = FeedbackCapture(workbench)
    capture.submit("log-1-1", FeedbackInput("up"), FeedbackOrigin.API)
    capture.submit("log-1-2", FeedbackInput("up"), FeedbackOrigin.API)
    capture.submit("log-1-3", FeedbackInput("down"), FeedbackOrigin.API)
    capture.submit("log-1-1", FeedbackInput("up"), FeedbackOrigin.MONITOR)
    capture.submit("log-1-2", FeedbackInput("up"), FeedbackOrigin.MONITOR)
    groups = FeedbackQueue(workbench, minilm).groups()
    assert [(sorted(i.inference_log_id for i in g.items), g.impact) for g in groups] == [
        (["log-1-1", "log-1-1", "log-1-2", "log-1-2"], 4 * CONFIRMED), (["log-1-3"], WRONG)]
    assert groups[0].lead.severity == CONFIRMED and groups[1].lead.value == "down"


def test_a_threshold_outside_zero_to_one_is_refused_and_none_switches_the_rule_off(workbench):
    deployed_model(workbench, threshold=0.5)
    write_log(workbench, [logged_request(1)])
    _confidence(workbench, {"log-1-1": 0.2})
    with pytest.raises(ValidationError, match="between 0 and 1"):
        DeploymentsStore(workbench).set_low_confidence_threshold("urgency", 1.5)
    DeploymentsStore(workbench).set_low_confidence_threshold("urgency", None)
    assert FeedbackQueue(workbench).items() == []


def test_request_vectors_are_embedded_once_and_the_cache_stays_within_its_limit():
    class Counting(LexicalEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.embedded: list[str] = []

        def _embed_texts(self, texts):
            self.embedded += texts
            return super()._embed_texts(texts)

    embedder, cache = Counting(), RequestVectors(limit=3)
    first = cache.embed(embedder, ["a late invoice", "a routine bill", "a late invoice"])
    again = cache.embed(embedder, ["a routine bill", "a late invoice"])
    assert embedder.embedded == ["a late invoice", "a routine bill"]
    assert (again[1] == first[0]).all() and first.shape == (3, embedder.dimension)
    cache.embed(embedder, ["one", "two", "three"])
    cache.embed(embedder, ["a late invoice"])
    assert embedder.embedded[-1] == "a late invoice"  # pushed out by three newer texts, so embedded anew


def test_the_endpoints_threshold_is_read_back_with_its_deployment(workbench):
    deployed_model(workbench, threshold=0.6)
    assert DeploymentsStore(workbench).current("urgency").low_confidence_threshold == 0.6
