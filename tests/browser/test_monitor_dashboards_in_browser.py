"""The MONITOR dashboards in headless Chromium over a constructed log (AppTest cannot render the
AG Grid): the traffic charts draw, the Predictions tab sets live answers beside the training
answers, and a row of the sample grid opens its request, trace and source item."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from tests.browser.conftest import open_page, start_app, stop_app, wait_for_app
from tests.monitor_builders import logged_request, monitored_model, write_log


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("monitor") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0"})
    forget_prepared_stores()
    wb = open_workbench(settings)
    sheet_id = monitored_model(wb)
    at = datetime.now(UTC) - timedelta(minutes=3)
    write_log(wb, [logged_request(1 + i, at=at, sheet_id=sheet_id, item_ref=f"INV-{i:04d}", prediction='{"urgency": "urgent"}')
                   for i in range(6)])
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app
    stop_app(app)


def test_the_dashboards_draw_and_a_sample_row_opens_its_request_and_source(served_app, page):
    open_page(page, served_app.page_url("monitor", endpoint="urgency"), "Monitor")
    requests = page.get_by_test_id("stMetric").filter(has_text="Requests").get_by_test_id("stMetricValue")
    expect(requests).to_have_text("7", timeout=90_000)  # the page's queries on a busy 2-core machine
    # Streamlit loads Plotly lazily: the charts draw after the script run has finished.
    for chart in ("requests", "latency", "errors"):
        expect(page.locator(f".st-key-monitor_traffic_{chart} .js-plotly-plot")).to_have_count(1)
    expect(page.locator(".st-key-monitor_predicted_urgency .js-plotly-plot")).to_have_count(1)
    page.get_by_text("0 of 6 answers right in the window (0%)", exact=False).wait_for()

    page.get_by_role("tab", name="Drift").click()
    page.get_by_text("Predicted urgency moved (PSI").wait_for()

    page.get_by_role("tab", name="Sample predictions").click()
    rows = page.frame_locator("iframe").first.locator(".ag-center-cols-container .ag-row")
    expect(rows).to_have_count(7, timeout=60_000)
    rows.first.click()  # the newest request: INV-0000's (ties in time go by id)
    wait_for_app(page)
    page.get_by_text("Source: item INV-0000 of its sheet").wait_for()
    page.get_by_text("trace-1", exact=True).wait_for()
