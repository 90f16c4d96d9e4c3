"""Sample predictions with their expert label and source item, and two versions compared."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.core.errors import NotFoundError
from services.monitor.log_scope import LogScope, Window
from services.monitor.samples import SampleService
from services.monitor.versions_compared import compare_versions
from services.monitor.watched_model import watched_model
from tests.deploy_builders import trained_model
from tests.monitor_builders import ENDPOINT, NOW, logged_request, write_log

HOUR = LogScope(ENDPOINT, None, Window.HOUR, NOW)


@pytest.fixture
def sheet_id(workbench):
    trained_model(workbench)  # items INV-0000..0005 labeled routine
    write_log(workbench, [logged_request(0, at=NOW - timedelta(minutes=50))])
    return watched_model(workbench, HOUR).sheet_id


def test_samples_are_the_latest_requests_with_the_expert_label_where_the_item_has_one(workbench, sheet_id):
    write_log(workbench, [
        logged_request(1, sheet_id=sheet_id, item_ref="INV-0001", prediction='{"urgency": "urgent"}'),
        logged_request(2, at=NOW - timedelta(minutes=10), status=400, prediction=None),
        logged_request(3, at=NOW - timedelta(hours=2)),
    ])
    samples = SampleService(workbench).recent(HOUR, "classification")
    assert [s.id for s in samples] == ["log-1-2", "log-1-1", "log-1-0"]
    assert samples[1].expected == '{"urgency": "routine"}' and samples[1].prediction == '{"urgency": "urgent"}'
    assert samples[0].expected is None and samples[0].status_code == 400
    assert [s.id for s in SampleService(workbench).recent(HOUR, "classification", limit=1)] == ["log-1-2"]


def test_an_opened_request_shows_its_request_response_trace_and_source_item(workbench, sheet_id):
    write_log(workbench, [logged_request(1, sheet_id=sheet_id, item_ref="INV-0001"), logged_request(2, sheet_id=sheet_id, item_ref="INV-9999")])
    service = SampleService(workbench)
    opened = service.get("log-1-1", "classification")
    assert opened.sample.trace_id == "trace-1" and "INV-0042" in opened.request and opened.response == '{"content": "x"}'
    item = service.source_item(opened)
    assert item.item_ref == "INV-0001" and float(item.fields["total_amount"]) == 10.0
    assert service.source_item(service.get("log-1-0", "classification")) is None  # not from a sheet item
    assert service.source_item(service.get("log-1-2", "classification")) is None  # an item no longer in the sheet
    with pytest.raises(NotFoundError):
        service.get("nope", None)


def test_two_versions_are_compared_side_by_side_over_the_same_window(workbench, sheet_id):
    write_log(workbench, [
        *(logged_request(10 + i, version="2", latency_ms=100.0, status=500 if i == 0 else 200, model_name="other_model") for i in range(4)),
        logged_request(20, sheet_id=sheet_id, item_ref="INV-0001", prediction='{"urgency": "routine"}'),
        logged_request(21, sheet_id=sheet_id, item_ref="INV-0002", prediction='{"urgency": "urgent"}'),
    ])
    one, two = compare_versions(workbench, HOUR, ("1", "2"))
    assert (one.version, one.requests, one.errors, one.compared, one.correct, one.accuracy) == ("1", 3, 0, 2, 1, 0.5)
    assert (two.version, two.requests, two.errors, two.error_rate, two.p50_ms, two.accuracy) == ("2", 4, 1, 0.25, 100.0, None)
    assert two.guardrail_pass_rate == 0.75
    none, = compare_versions(workbench, HOUR, ("7", "1"))[:1]
    assert (none.requests, none.error_rate, none.accuracy) == (0, None, None)
