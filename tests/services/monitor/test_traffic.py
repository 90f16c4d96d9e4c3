"""An endpoint's traffic from a constructed inference log with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.deploy.inference_log import InferenceLogStore
from services.deploy.records import InferenceRecord
from services.monitor.traffic import TrafficService, Window

NOW = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)


def row(i: int, at: datetime, latency_ms: float, status: int = 200, version: str = "1", endpoint: str = "urgency") -> InferenceRecord:
    return InferenceRecord(
        id=f"{endpoint}-{version}-{i}", deployment_id="d", endpoint_name=endpoint, model_name="m", model_version=version,
        request_id=f"r{i}", trace_id=f"t{i}", request="{}", response=None, prediction=None, latency_ms=latency_ms,
        status_code=status, input_tokens=None, output_tokens=None, guardrails="[]", guardrails_passed=status == 200,
        error=None, requester="c@example.com", source="api", replayed=False, created_at=at,
    )


@pytest.fixture
def logged(workbench):
    records = []
    # Version 1: 100 requests in the hour before NOW at 1..100 ms, every tenth one failed (10 %).
    for i in range(100):
        records.append(row(i, NOW - timedelta(minutes=59) + timedelta(seconds=30 * i), float(i + 1), 500 if i % 10 == 9 else 200))
    # Version 2: 50 requests two hours earlier, all answered at 1,000 ms.
    records += [row(1000 + i, NOW - timedelta(hours=3), 1000.0, version="2") for i in range(50)]
    # Another endpoint and an old request that no window but the month sees.
    records.append(row(5000, NOW - timedelta(minutes=5), 7.0, endpoint="other"))
    records.append(row(6000, NOW - timedelta(days=10), 9.0))
    InferenceLogStore(workbench).append(records)
    return TrafficService(workbench)


def test_the_summary_counts_requests_errors_and_latency_percentiles_in_the_window(logged):
    hour = logged.summary("urgency", None, Window.HOUR, NOW)
    assert (hour.requests, hour.errors, hour.error_rate) == (100, 10, 0.1)
    assert hour.p50_ms == pytest.approx(50.5, abs=2) and hour.p95_ms == pytest.approx(95, abs=2) and hour.p99_ms == pytest.approx(99, abs=2)
    day = logged.summary("urgency", None, Window.DAY, NOW)
    assert day.requests == 150 and day.p99_ms == pytest.approx(1000, abs=1)
    assert logged.summary("urgency", "2", Window.DAY, NOW).requests == 50
    assert logged.summary("urgency", None, Window.MONTH, NOW).requests == 151


def test_an_empty_window_has_no_percentiles_and_no_error_rate(logged):
    empty = logged.summary("urgency", "2", Window.HOUR, NOW)
    assert (empty.requests, empty.p50_ms, empty.error_rate) == (0, None, None)
    assert logged.over_time("urgency", "2", Window.HOUR, NOW) == []


def test_traffic_over_time_is_bucketed_by_the_windows_unit(logged):
    buckets = logged.over_time("urgency", None, Window.DAY, NOW)
    assert [(b.start.hour, b.requests, b.errors) for b in buckets] == [(9, 50, 0), (11, 58, 5), (12, 42, 5)]
    assert buckets[0].p95_ms == pytest.approx(1000)
    assert sum(b.requests for b in logged.over_time("urgency", "1", Window.HOUR, NOW)) == 100


def test_the_endpoints_list_names_each_with_its_versions_and_count(logged):
    assert [(e.name, e.versions, e.requests) for e in logged.endpoints()] == [("other", ("1",), 1), ("urgency", ("1", "2"), 151)]


def test_throughput_is_requests_per_second_of_the_bucket_and_of_the_window(logged):
    buckets = logged.over_time("urgency", None, Window.HOUR, NOW)
    assert buckets[0].bucket_seconds == 60 and buckets[0].requests_per_s == pytest.approx(buckets[0].requests / 60)
    assert logged.summary("urgency", None, Window.HOUR, NOW).requests_per_s == pytest.approx(100 / 3600)


def test_the_window_summary_and_buckets_come_from_one_query_and_agree_with_each(logged):
    summary, buckets = logged.in_window("urgency", None, Window.DAY, NOW)
    assert summary == logged.summary("urgency", None, Window.DAY, NOW)
    assert buckets == logged.over_time("urgency", None, Window.DAY, NOW) and sum(b.requests for b in buckets) == summary.requests
    empty, none = logged.in_window("urgency", "2", Window.HOUR, NOW)
    assert (empty.requests, empty.p50_ms, none) == (0, None, [])
