"""The MONITOR page over a constructed inference log: the figures and charts of an endpoint in a
window, a version filter, and what an empty page or an empty window says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from services.deploy.inference_log import InferenceLogStore
from tests.monitor_builders import logged_request, monitored_model, write_log
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


def test_a_versions_predictions_drift_samples_and_ab_from_its_log(open_page, workbench):
    sheet_id = monitored_model(workbench)  # trained on 6 routine and 2 urgent answers; INV-0000..0005 are routine
    at = datetime.now(UTC) - timedelta(minutes=4)
    write_log(workbench, [logged_request(1 + i, at=at, sheet_id=sheet_id, item_ref=f"INV-{i:04d}",
                                         prediction='{"urgency": "urgent"}' if i < 5 else '{"urgency": "routine"}') for i in range(6)])

    app = open_page("pages/monitor.py", {"endpoint": "urgency"})
    assert not app.exception
    charts = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert titles[3:] == ["Predicted urgency: live against training", "Accuracy over time"]
    predicted = charts[3]["data"]
    assert predicted[0]["x"] == ["routine", "urgent", "(no value)"] and predicted[0]["y"] == [0.75, 0.25, 0.0]
    assert "1 of 6 answers right in the window (17%)" in " ".join(c.value for c in app.caption)
    assert any("does not report a confidence" in c.value for c in app.caption)
    moved = [w.value for w in app.warning]
    assert any(m.startswith("Predicted urgency moved (PSI") for m in moved)
    assert any(s.value.startswith("Input total_amount") for s in [*app.success, *app.warning])
    assert "A/B needs two model versions" in " ".join(i.value for i in app.info)

    app.session_state["monitor_samples_urgency_opened"] = "log-1-2"
    app.run()
    assert not app.exception
    assert any("Source: item INV-0001" in c.value for c in app.caption)
    assert any("trace `trace-2`" in m.value for m in app.markdown)


def test_two_versions_side_by_side(open_page, workbench):
    now = datetime.now(UTC)
    InferenceLogStore(workbench).append([row(i, now - timedelta(minutes=i), 10.0, version=str(1 + i % 2)) for i in range(10)])
    app = open_page("pages/monitor.py", {"endpoint": "urgency"})
    assert not app.exception
    assert "Pick a version above" not in " ".join(i.value for i in app.info)
    table = app.dataframe[-1].value
    assert list(table.columns) == ["v1", "v2"] and table.loc["Requests"].tolist() == ["5", "5"]
