"""DATA in headless Chromium: upload a scanned PDF into a sheet's volume, parse the volume, and
see the item's text, read by OCR, on its card."""

import pytest

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.core.workbench import forget_prepared_stores, open_workbench
from services.data.sheets import SheetService
from tests.browser.conftest import open_page, start_app, stop_app, wait_for_app
from tests.builders import INVOICE_PDFS, build_invoice_source
from tests.document_builders import scanned_pdf

JOB_TIMEOUT_MS = 120_000  # OCR of one page and five text layers; minutes only on a machine far too loaded


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("document-parsing") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0"})
    forget_prepared_stores()
    wb = open_workbench(settings)
    build_invoice_source(wb)
    volume = SecondarySource(SourceKind.VOLUME, INVOICE_PDFS, "invoice_id")
    sheet = SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", secondary_sources=(volume,), sample_size=9))
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    app.sheet_id = sheet.id
    yield app
    stop_app(app)


def test_a_person_uploads_a_scan_parses_the_volume_and_sees_its_text_on_the_items_card(served_app, page, tmp_path):
    scan = tmp_path / "INV-0006.pdf"
    scan.write_bytes(scanned_pdf())
    open_page(page, served_app.page_url("data", sheet=served_app.sheet_id), "Data")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(scan))
    page.get_by_text("INV-0006.pdf", exact=True).wait_for()
    wait_for_app(page)
    page.get_by_role("button", name="Upload", exact=True).click()
    page.get_by_text("Uploaded 1 of 1 files; the sheet has 9 items.").wait_for()
    wait_for_app(page)

    page.get_by_role("button", name="Parse documents", exact=True).click()
    page.get_by_text("7 of 7 items · succeeded").wait_for(timeout=JOB_TIMEOUT_MS)
    wait_for_app(page)
    page.get_by_text("6 PDFs parsed (11 pages, 1 read by OCR) · 1 could not be read").wait_for()
    card = page.locator('[data-testid="stVerticalBlock"]').filter(has=page.get_by_text("INV-0006", exact=True)).last
    card.get_by_text("Parsed text").click()
    card.get_by_text("INV-7001", exact=False).wait_for()
    assert "ACC-55120" in card.inner_text()
