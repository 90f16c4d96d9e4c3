"""The DATA page in headless Chromium: create a sheet and see its items with PDF renders."""

import pytest

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from tests.browser.conftest import choose, open_page, start_app, stop_app, wait_for_app
from tests.builders import build_invoice_source


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("data-page") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0"})
    forget_prepared_stores()
    build_invoice_source(open_workbench(settings))
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app
    stop_app(app)


def test_a_person_creates_a_sheet_and_sees_its_pdfs_rendered(served_app, page):
    open_page(page, served_app.page_url("data"), "Data")
    # Opened by its address on a fresh server, the page still runs inside app.py's navigation.
    sidebar = page.locator('[data-testid="stSidebarNav"]')
    assert "Lifecycle" in sidebar.inner_text()
    assert "app" not in sidebar.inner_text().split()
    # With no sheets yet the form starts open: wait for it rather than toggle it (a click while
    # the first run is still drawing would close it).
    page.get_by_label("Name", exact=True).wait_for(timeout=60_000)
    page.get_by_label("Name", exact=True).fill("January invoices")
    choose(page, "Schema", "raw")
    wait_for_app(page)
    choose(page, "Primary table", "invoices")
    wait_for_app(page)
    choose(page, "Volumes with the items' files", "/Volumes/mirion_vital/raw/invoice_pdfs")
    wait_for_app(page)
    page.get_by_label("Sample size (0 = all rows)").fill("6")
    page.get_by_role("button", name="Create sheet").click()
    wait_for_app(page)

    page.get_by_text("Created 'January invoices' with 6 items.").wait_for()
    assert "sheet=" in page.url
    page.get_by_text("INV-0000.pdf · 2 page(s)").wait_for()
    rendered = page.locator('[data-testid="stImage"] img')
    rendered.nth(4).wait_for()
    assert rendered.first.evaluate("img => img.complete && img.naturalWidth > 100")
    page.get_by_text("INV-0005.pdf cannot be opened: the file is damaged or is not a PDF.").wait_for()
