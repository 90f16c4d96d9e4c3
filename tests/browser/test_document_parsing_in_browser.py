"""DATA in headless Chromium: upload a scanned PDF into a sheet's volume, parse the volume, and
see the item's text, read by OCR, on its card."""

import pytest

from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.data.sheets import SheetService
from tests.browser.conftest import open_page, serve_built_store, stop_app
from tests.browser.document_steps import parse_documents, parsed_text_card, upload_into_volume
from tests.builders import INVOICE_PDFS, build_invoice_source
from tests.document_builders import scanned_pdf


def _invoices(wb):
    build_invoice_source(wb)
    volume = SecondarySource(SourceKind.VOLUME, INVOICE_PDFS, "invoice_id")
    return SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", secondary_sources=(volume,), sample_size=9))


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    app, sheet = serve_built_store(tmp_path_factory.mktemp("document-parsing") / "home", _invoices)
    app.sheet_id = sheet.id
    yield app
    stop_app(app)


def test_a_person_uploads_a_scan_parses_the_volume_and_sees_its_text_on_the_items_card(served_app, page, tmp_path):
    scan = tmp_path / "INV-0006.pdf"
    scan.write_bytes(scanned_pdf())
    open_page(page, served_app.page_url("data", sheet=served_app.sheet_id), "Data")
    upload_into_volume(page, scan, items=9)

    parse_documents(page, files=7)
    page.get_by_text("6 PDFs parsed (11 pages, 1 read by OCR) · 1 could not be read").wait_for()
    card = parsed_text_card(page, "INV-0006")
    card.get_by_text("INV-7001", exact=False).wait_for()
    assert "ACC-55120" in card.inner_text()
