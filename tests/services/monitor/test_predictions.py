"""Predicted values against the training answers, the confidence histogram and accuracy over time,
from constructed logs with known answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.core.domain.template import FieldType, SchemaField
from services.monitor.log_scope import LogScope, Window
from services.monitor.predictions import NOT_PARSED, PredictionService
from services.monitor.watched_model import compared_fields, watched_model
from tests.deploy_builders import trained_model
from tests.monitor_builders import ENDPOINT, NOW, logged_request, relabel, write_log

HOUR = LogScope(ENDPOINT, None, Window.HOUR, NOW)


@pytest.fixture
def model(workbench):
    model = trained_model(workbench)  # trained on INV-0000..0003, all labeled routine
    relabel(workbench, model, ["INV-0003"], "urgent")  # training answers: 3 routine, 1 urgent
    return model


def test_the_watched_model_is_the_version_in_the_window_with_its_lineage_and_template(workbench, model):
    write_log(workbench, [logged_request(0)])
    watched = watched_model(workbench, HOUR)
    assert (watched.model_version, watched.lineage_id, watched.label_type) == ("1", model.lineage_id, "classification")
    assert [f.name for f in watched.output_schema] == ["urgency"]
    write_log(workbench, [logged_request(1, version="2")])
    assert watched_model(workbench, HOUR) is None  # two versions: pick one to compare with its training set
    assert watched_model(workbench, HOUR.for_version("1")).lineage_id == model.lineage_id


def test_predicted_values_are_counted_beside_the_training_answers(workbench, model):
    predictions = ['{"urgency": "urgent"}'] * 6 + ['Sure! {"urgency": "Routine "}'] * 2 + ["no idea", '{"other": 1}']
    write_log(workbench, [logged_request(i, prediction=p) for i, p in enumerate(predictions)]
              + [logged_request(99, status=500, prediction=None), logged_request(98, at=NOW - timedelta(hours=3))])
    (urgency,) = PredictionService(workbench).distributions(HOUR, watched_model(workbench, HOUR))
    assert urgency.bins == ("routine", "urgent", NOT_PARSED)
    assert urgency.training == (3, 1, 0)
    assert urgency.live == (2, 6, 2)


def test_the_confidence_histogram_is_empty_when_the_model_reports_none(workbench, model):
    write_log(workbench, [logged_request(i) for i in range(4)])
    service = PredictionService(workbench)
    assert service.confidence_histogram(HOUR) == []
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('inference_log')} SET confidence = CASE id WHEN 'log-1-0' THEN 0.05 WHEN 'log-1-1' THEN 1.0 ELSE 0.85 END"
    )
    assert [(b.low, b.requests) for b in service.confidence_histogram(HOUR)] == [(0.0, 1), (0.8, 2), (0.9, 1)]


def test_accuracy_over_time_counts_requests_whose_item_has_a_canonical_label(workbench, model):
    write_log(workbench, [logged_request(0)])
    sheet_id = watched_model(workbench, HOUR).sheet_id
    first, second = NOW - timedelta(hours=2, minutes=10), NOW - timedelta(minutes=20)
    write_log(workbench, [
        # 10:00: INV-0003 is labeled urgent, INV-0004 routine: one right, one wrong
        logged_request(1, at=first, sheet_id=sheet_id, item_ref="INV-0003", prediction='{"urgency": "urgent"}'),
        logged_request(2, at=first, sheet_id=sheet_id, item_ref="INV-0004", prediction='{"urgency": "urgent"}'),
        # 12:00: both right (case and spacing do not count), and one item without a label is left out
        logged_request(3, at=second, sheet_id=sheet_id, item_ref="INV-0001", prediction='{"urgency": " Routine"}'),
        logged_request(4, at=second, sheet_id=sheet_id, item_ref="INV-0002", prediction='```json\n{"urgency": "routine"}\n```'),
        logged_request(5, at=second, sheet_id=sheet_id, item_ref="INV-0150", prediction='{"urgency": "routine"}'),
        logged_request(6, at=second, sheet_id=sheet_id, item_ref="INV-0001", prediction=None, status=400),
    ])
    day = LogScope(ENDPOINT, None, Window.DAY, NOW)
    buckets = PredictionService(workbench).accuracy_over_time(day, watched_model(workbench, day))
    assert [(b.start.hour, b.source, b.compared, b.correct) for b in buckets] == [
        (10, "labeled evaluation traffic", 2, 1), (12, "labeled evaluation traffic", 2, 2)]
    assert buckets[0].accuracy == 0.5


def test_only_fields_with_a_fixed_set_of_values_or_numbers_and_plain_names_are_compared():
    schema = (
        SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")), SchemaField("amount", FieldType.NUMBER),
        SchemaField("paid", FieldType.BOOLEAN), SchemaField("reason", FieldType.STRING),
        SchemaField("due date", FieldType.STRING, choices=("soon", "late")),  # no JSON path both engines read alike
    )
    assert [f.name for f in compared_fields(schema)] == ["urgency", "amount", "paid"]
