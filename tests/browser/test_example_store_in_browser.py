"""The Example Store's AG Grid in headless Chromium (AppTest cannot render it): selecting rows
shows the example and prunes them."""

import pytest

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft
from tests.browser.conftest import open_page, start_app, stop_app, wait_for_app


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("example-store") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0"})
    forget_prepared_stores()
    store = ExampleStore(open_workbench(settings))
    store.add(ExampleDraft("Dose rate 40 µSv/h beside the drum", '{"alert": "high"}', function_name="dose_alert", domain="radiation"))
    store.add(ExampleDraft("Invoice overdue by 90 days", '{"urgency": "urgent"}', function_name="invoice_urgency", domain="finance"))
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app
    stop_app(app)


def test_selecting_a_row_in_the_grid_shows_the_example_and_prunes_it(served_app, page):
    open_page(page, served_app.page_url("example-store"), "Example Store")
    page.get_by_role("tab", name="Browse").click()
    grid = page.frame_locator("iframe").first
    row = grid.locator(".ag-center-cols-container .ag-row", has_text="Invoice overdue")
    row.wait_for(timeout=60_000)
    index = row.get_attribute("row-index")
    grid.locator(f'.ag-row[row-index="{index}"] .ag-selection-checkbox input').first.click()
    wait_for_app(page)

    page.get_by_role("button", name="Prune 1 selected").wait_for()
    page.get_by_text("Invoice overdue by 90 days").first.wait_for()
    assert "example=" in page.url
    page.get_by_role("button", name="Prune 1 selected").click()
    wait_for_app(page)

    page.get_by_text("Pruned 1 example(s).").wait_for()
    page.get_by_text("1 example(s) · retrieval by").wait_for()
