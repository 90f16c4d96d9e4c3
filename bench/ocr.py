"""DATA figures: OCR of the demo's five scanned invoices (11 pages of 110-dpi scans), read as
Parse documents reads them (rendered at 300 dpi, cleaned, Tesseract on one thread), with the
character accuracy of each against the text it was drawn from. No goal is set in the issue:
pages per second are reported, with the CPU time and load average beside them."""

from __future__ import annotations

import os
import time

from bench.measure import Measurement, reported
from data_access.ocr.recognizer import TesseractRecognizer
from services.data.document_parsing import parse_pdf
from services.data.text_accuracy import character_accuracy
from services.demo.invoices import scanned_invoices

DEMO_SEED = 42


def run() -> list[Measurement]:
    from data_access.pymupdf_lean import pymupdf

    recognizer = TesseractRecognizer()
    invoices = scanned_invoices(DEMO_SEED)
    pages, accuracies = 0, []
    cpu_before, children_before = time.process_time(), os.times().children_user + os.times().children_system
    started = time.perf_counter()
    for invoice in invoices:
        parsed = parse_pdf(invoice.scanned_pdf, invoice.invoice_id, recognizer)
        pages += len(parsed.pages)
        with pymupdf.open(stream=invoice.drawn_pdf) as drawn, pymupdf.open(stream=invoice.scanned_pdf) as scan:
            expected = "\n".join(f"{s.get_text()}\n{d.get_text(sort=True)}" for s, d in zip(scan, drawn, strict=True))
        accuracies.append(character_accuracy(expected, parsed.text))
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before + (os.times().children_user + os.times().children_system - children_before)
    detail = (
        f"{pages} pages of {len(invoices)} invoices in {seconds:.1f} s; {cpu / pages:.2f} s of CPU a page (Tesseract included); "
        f"character accuracy {min(accuracies):.1%}–{max(accuracies):.1%}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return [reported("OCR of the scanned demo invoices", pages / seconds, "pages/s", detail)]
