"""The MONITOR page over a constructed inference log: the figures and charts of an endpoint in a
window, a version filter, and what an empty page or an empty window says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from services.deploy.inference_log import InferenceLogStore
from tests.services.monitor.test_traffic import row


def test_with_nothing_logged_the_page_says_what_would_fill_it(open_page):
    app = open_page("pages/monitor.py")
    assert not app.exception
    assert "Nothing is logged yet" in app.info[0].value and "DEPLOY" in app.info[0].value
    assert not app.get("plotly_chart")


def test_an_endpoints_requests_latency_and_errors_in_the_window(open_page, workbench):
    now = datetime.now(UTC)
    records = [row(i, now - timedelta(minutes=i), float(10 * (i + 1)), 500 if i < 2 else 200) for i in range(20)]
    records += [row(100 + i, now - timedelta(days=3), 5.0, version="2") for i in range(5)]
    InferenceLogStore(workbench).append(records)

    app = open_page("pages/monitor.py", {"endpoint": "urgency"})
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Requests"] == "20" and metrics["Error rate"] == "10.0%"
    assert metrics["Latency p50"].endswith(" ms") and metrics["Latency p99"] != "—"
    charts = app.get("plotly_chart")
    assert len(charts) == 3
    requests_chart = json.loads(charts[0].proto.spec)
    assert sum(requests_chart["data"][0]["y"]) == 20

    app.selectbox(key="monitor_version_urgency").set_value("2").run()
    assert "No requests to urgency v2 in the last 24 hours" in app.info[0].value
    app.selectbox(key="monitor_window").select_index(3).run()  # the last 30 days
    assert {m.label: m.value for m in app.metric}["Requests"] == "5"
