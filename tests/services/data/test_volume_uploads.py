"""Uploading files into a volume: safe names, the hostile-file rules, never replacing a file."""

from __future__ import annotations

import pytest

from services.data.sheets import SheetService
from services.data.volume_uploads import MAX_UPLOAD_BYTES, safe_file_name, upload
from tests import hostile_files as corpus
from tests.builders import INVOICE_PDFS, joined_invoice_draft
from tests.document_builders import digital_pdf

VOLUME = "/Volumes/mirion_vital/raw/uploads"


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("INV-0001.pdf", "INV-0001.pdf"),
        ("../../etc/passwd.PDF", "passwd.pdf"),
        ("C:\\scans\\Rechnung März 2026.pdf", "Rechnung_Marz_2026.pdf"),
        (".hidden.png", "hidden.png"),
        ("   .pdf", ""),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_an_uploaded_name_becomes_a_plain_file_name(given, safe):
    assert safe_file_name(given) == safe


def test_good_files_are_written_under_their_safe_names_and_hostile_ones_are_refused_with_their_reason(workbench):
    files = workbench.backend.files
    outcomes = [upload(workbench, VOLUME, "../INV 7.pdf", digital_pdf()), upload(workbench, VOLUME, "photo.png", corpus.good_png())]
    assert [o.path for o in outcomes] == [f"{VOLUME}/INV_7.pdf", f"{VOLUME}/photo.png"] and all(o.ok for o in outcomes)
    for bad in (*corpus.HOSTILE_PDFS, *corpus.HOSTILE_IMAGES):
        outcome = upload(workbench, VOLUME, bad.name, bad.data())
        assert not outcome.ok and bad.message in outcome.error and outcome.path is None
        assert not files.exists(f"{VOLUME}/{bad.name}")
    assert sorted(e.name for e in files.list_directory(VOLUME)) == ["INV_7.pdf", "photo.png"]


def test_an_existing_file_is_never_replaced_and_other_kinds_or_oversized_files_are_refused(workbench):
    first = digital_pdf()
    assert upload(workbench, VOLUME, "a.pdf", first).ok
    again = upload(workbench, VOLUME, "a.pdf", digital_pdf(("Other text",)))
    assert "already exists" in again.error
    assert workbench.backend.files.read_bytes(f"{VOLUME}/a.pdf") == first
    assert "not a kind of file a sheet can show" in upload(workbench, VOLUME, "run.sh", b"#!/bin/sh").error
    assert "the limit is" in upload(workbench, VOLUME, "big.pdf", b"%PDF-" + b"0" * MAX_UPLOAD_BYTES).error


def test_after_an_upload_the_sheet_counts_its_items_again_and_the_new_file_joins_its_item(invoice_source):
    service = SheetService(invoice_source)
    sheet = service.create(joined_invoice_draft())
    invoice_source.backend.engine.execute(
        "INSERT INTO mirion_vital.raw.invoices VALUES ('INV-0200', 12.5, 'Lakeside Clinic')"
    )
    assert upload(invoice_source, INVOICE_PDFS, "INV-0200.pdf", digital_pdf()).ok
    refreshed = service.refresh_count(sheet)
    assert (sheet.row_count, refreshed.row_count, service.get(sheet.id).row_count) == (200, 201, 201)
    [item] = service.items_for_refs(refreshed, ["INV-0200"])
    assert [m.path for m in item.media] == [f"{INVOICE_PDFS}/INV-0200.pdf"]
