"""The IMPROVE queue grid in headless Chromium (AppTest cannot render the AG Grid): patterns
ranked by impact, a row's checkbox opens its request, answer, correction and source item, and
"Add to Training Sheet" turns it into a pair to review in LABEL."""

import pytest
from playwright.sync_api import expect

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from services.improve.capture import FeedbackCapture, FeedbackInput
from services.improve.records import FeedbackOrigin
from tests.browser.conftest import open_page, start_app, stop_app, wait_for_app
from tests.improve_builders import deployed_model, model_sheet_id
from tests.monitor_builders import logged_request, write_log


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("improve") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "expert@mirion.example"})
    forget_prepared_stores()
    wb = open_workbench(settings)
    sheet_id = model_sheet_id(wb, deployed_model(wb))
    write_log(wb, [logged_request(1, sheet_id=sheet_id, item_ref="INV-0001"), logged_request(2, prompt="Dosimeter badge lost.")])
    capture = FeedbackCapture(wb)
    capture.submit("log-1-1", FeedbackInput("down", correction='{"urgency": "urgent"}'), FeedbackOrigin.API)
    capture.submit("log-1-2", FeedbackInput("up"), FeedbackOrigin.PLAYGROUND)
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app
    stop_app(app)


def test_a_pattern_picked_in_the_grid_opens_and_goes_to_a_new_training_sheet(served_app, page):
    open_page(page, served_app.page_url("improve"), "Improve")
    grid = page.frame_locator("iframe").first
    rows = grid.locator(".ag-center-cols-container .ag-row")
    expect(rows).to_have_count(2, timeout=90_000)
    first = grid.locator('.ag-center-cols-container .ag-row[row-index="0"]')
    expect(first).to_contain_text("wrong")  # the correction outranks the thumbs up
    grid.locator('.ag-row[row-index="0"] .ag-selection-checkbox input').first.click()
    wait_for_app(page)

    page.get_by_text("Source: item INV-0001 of its sheet").wait_for(timeout=60_000)
    page.get_by_text("A new Training Sheet").click()
    wait_for_app(page)
    page.get_by_label("New Training Sheet name").fill("Urgency from production")
    page.get_by_role("button", name="Add to Training Sheet").click()
    wait_for_app(page)
    page.get_by_text("1 pair(s) added to Urgency from production").wait_for(timeout=60_000)
