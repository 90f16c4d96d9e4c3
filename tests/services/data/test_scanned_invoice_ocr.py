"""The demo's five scanned invoices, parsed: their text matches the text they were drawn from.

Each scan is a page image (110 dpi, toned, noisy, turned a degree or two, JPEG) with only the
scanner's stamp in its text layer. The expected text is what the generator drew: per page, the
stamp, then the drawn invoice's text in reading order. Character accuracy = 1 − Levenshtein
distance / expected length, with whitespace runs made single spaces and nothing else changed.
"""

from __future__ import annotations

import pymupdf
import pytest

from data_access.ocr.recognizer import TesseractRecognizer
from services.data.document_parsing import PageMethod, parse_pdf
from services.data.text_accuracy import character_accuracy, levenshtein
from services.demo.invoices import SCANNED_COUNT, ScannedInvoice, scanned_invoices

DEMO_SEED = 42  # the seed `make run` builds the demo with
MIN_CHARACTER_ACCURACY = 0.95


def drawn_text(invoice: ScannedInvoice) -> str:
    with pymupdf.open(stream=invoice.drawn_pdf, filetype="pdf") as drawn, pymupdf.open(stream=invoice.scanned_pdf, filetype="pdf") as scan:
        return "\n".join(f"{stamp.get_text()}\n{page.get_text(sort=True)}" for stamp, page in zip(scan, drawn, strict=True))


def test_levenshtein_counts_insertions_deletions_and_substitutions():
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == levenshtein("abc", "") == 3
    assert levenshtein("flaw", "lawn") == 2
    assert character_accuracy("a  b\nc", "a b c") == 1.0
    assert character_accuracy("abcd", "abXd") == 0.75


@pytest.mark.slow
def test_each_scanned_demo_invoice_reads_back_at_95_percent_character_accuracy():
    invoices = scanned_invoices(DEMO_SEED)
    assert len(invoices) == SCANNED_COUNT
    recognizer = TesseractRecognizer()
    accuracies = {}
    for invoice in invoices:
        parsed = parse_pdf(invoice.scanned_pdf, f"{invoice.invoice_id}.pdf", recognizer)
        assert {page.method for page in parsed.pages} == {PageMethod.OCR}
        assert all(0.5 < page.confidence <= 1 for page in parsed.pages)
        accuracies[invoice.invoice_id] = character_accuracy(drawn_text(invoice), parsed.text)
    assert min(accuracies.values()) >= MIN_CHARACTER_ACCURACY, accuracies
