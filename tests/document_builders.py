"""PDFs for the parsing tests: a digital page with a text layer, and a "scan" of one (a page image
with no text layer), both small enough to read in a second or two."""

from __future__ import annotations

import pymupdf

SCAN_DPI = 150

LETTER = (
    "Lakeside Clinic invoice INV-7001",
    "Patient account ACC-55120 was billed for an office visit",
    "Total due 120.00 dollars by March 3, 2026",
)


def digital_pdf(lines: tuple[str, ...] = LETTER, pages: int = 1) -> bytes:
    document = pymupdf.open()
    for number in range(pages):
        page = document.new_page()
        for row, line in enumerate((*lines, f"Page {number + 1} of {pages}")):
            page.insert_text((72, 90 + row * 28), line, fontsize=14)
    return document.tobytes()


def scanned_pdf(lines: tuple[str, ...] = LETTER) -> bytes:
    """The digital page rendered to an image and put in a new PDF: nothing but pixels."""
    with pymupdf.open(stream=digital_pdf(lines), filetype="pdf") as source:
        pixmap = source[0].get_pixmap(dpi=SCAN_DPI, colorspace=pymupdf.csGRAY)
        scan = pymupdf.open()
        page = scan.new_page(width=source[0].rect.width, height=source[0].rect.height)
        page.insert_image(page.rect, stream=pixmap.tobytes("png"))
        return scan.tobytes()
