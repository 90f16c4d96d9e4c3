"""One PDF becomes text: each page's text layer, or OCR where a page has none, cut into layout
blocks in reading order with their page and position.

The file is opened through file_decoding, so a damaged, encrypted or empty PDF fails the way it
fails everywhere else (a PreviewError naming it); a page too large to render is read at a lower
resolution, never rendered whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import groupby

from PIL import Image

from data_access.ocr.recognizer import RecognizerError, TextRecognizer, Word
from data_access.pymupdf_lean import pymupdf
from services.data.file_decoding import PreviewError, opened_pdf, zoom_within
from services.data.ocr_image import prepared_for_ocr

# A page that shows an image and whose text layer holds fewer characters than this is a picture
# of text: a scanner stamps a line like "Scanned 2026-01-13 FD-SCAN-01 p1/2" (about 30 letters)
# on pages it adds no text to. A page of short text and no image is simply a short page.
MIN_TEXT_LAYER_CHARS = 64
OCR_DPI = 300  # Tesseract reads best with capital letters 20-30 pixels tall: 9-point type at 300 dpi
# A US Legal page at 300 dpi is 12.6 megapixels; larger pages are read at a lower resolution
# rather than rendered whole (a 200-inch page would be gigabytes).
OCR_MAX_PIXELS = 13_000_000
_POINTS_PER_INCH = 72
TEXT_LAYER_CONFIDENCE = 1.0  # the text as the PDF states it: nothing was guessed


class PageMethod(StrEnum):
    TEXT_LAYER = "text_layer"
    OCR = "ocr"
    AI_PARSE_DOCUMENT = "ai_parse_document"


@dataclass(frozen=True)
class Chunk:
    """A block of text in reading order, its box in PDF points from the page's top left."""

    page_number: int
    index: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class ParsedPage:
    number: int  # from 1
    method: PageMethod
    confidence: float | None
    text: str


@dataclass(frozen=True)
class ParsedDocument:
    pages: tuple[ParsedPage, ...]
    chunks: tuple[Chunk, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(page.text for page in self.pages if page.text)


def parse_pdf(data: bytes, name: str, recognizer: TextRecognizer) -> ParsedDocument:
    """The document's pages and chunks; a PreviewError (naming the file) when it cannot be read."""
    pages: list[ParsedPage] = []
    chunks: list[Chunk] = []
    with opened_pdf(data, name) as document:
        for number, page in enumerate(document, start=1):
            parsed, page_chunks = _parse_page(page, number, name, recognizer)
            pages.append(parsed)
            chunks += page_chunks
    return ParsedDocument(tuple(pages), tuple(chunks))


def _parse_page(page: pymupdf.Page, number: int, name: str, recognizer: TextRecognizer) -> tuple[ParsedPage, list[Chunk]]:
    if has_text_layer(page):
        chunks = _text_layer_chunks(page, number)
        return ParsedPage(number, PageMethod.TEXT_LAYER, TEXT_LAYER_CONFIDENCE, _joined(c.text for c in chunks)), chunks
    return _ocr_page(page, number, name, recognizer)


def has_text_layer(page: pymupdf.Page) -> bool:
    """Whether the page's text can be read from the PDF itself, without OCR."""
    return sum(not c.isspace() for c in page.get_text()) >= MIN_TEXT_LAYER_CHARS or not page.get_images()


def _text_layer_chunks(page: pymupdf.Page, number: int) -> list[Chunk]:
    blocks = [b for b in page.get_text("blocks", sort=True) if b[6] == 0 and b[4].strip()]  # type 0: text, not image
    return [
        Chunk(number, index, _one_line_per_line(b[4]), round(b[0], 1), round(b[1], 1), round(b[2], 1), round(b[3], 1))
        for index, b in enumerate(blocks)
    ]


def _ocr_page(page: pymupdf.Page, number: int, name: str, recognizer: TextRecognizer) -> tuple[ParsedPage, list[Chunk]]:
    """The page's few lines of text layer as they are, OCR for the rest: the text layer is taken
    out of the render, so a scanner's stamp is read exactly once, from the layer."""
    layer = _text_layer_chunks(page, number)
    zoom, _ = zoom_within(page, OCR_DPI / _POINTS_PER_INCH, OCR_MAX_PIXELS)
    dpi = round(zoom * _POINTS_PER_INCH)
    try:
        words = recognizer.words(prepared_for_ocr(_render_without_text(page, layer, zoom), dpi), dpi)
    except RecognizerError as error:
        raise PreviewError(f"{name}, page {number}: {error}") from error
    read = _ocr_chunks(words, number, zoom)
    chunks = [replace(c, index=i) for i, c in enumerate(sorted((*layer, *read), key=lambda c: (c.y0, c.x0)))]
    confidence = sum(w.confidence for w in words) / len(words) / 100 if words else 0.0
    return ParsedPage(number, PageMethod.OCR, round(max(0.0, confidence), 4), _joined(c.text for c in chunks)), chunks


def _render_without_text(page: pymupdf.Page, layer: list[Chunk], zoom: float) -> Image.Image:
    with pymupdf.open() as copy:
        copy.insert_pdf(page.parent, from_page=page.number, to_page=page.number)
        only = copy[0]
        for chunk in layer:
            only.add_redact_annot(pymupdf.Rect(chunk.x0, chunk.y0, chunk.x1, chunk.y1))
        if layer:
            only.apply_redactions(images=pymupdf.PDF_REDACT_IMAGE_NONE, graphics=pymupdf.PDF_REDACT_LINE_ART_NONE)
        pixmap = only.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csGRAY, alpha=False)
        return Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples)


def _ocr_chunks(words: list[Word], number: int, zoom: float) -> list[Chunk]:
    """Tesseract's blocks as chunks, each its lines in order; boxes back in PDF points (of the
    straightened page: within a few points of the scan's own for the turns scanners make)."""
    chunks = []
    for index, (_, block_words) in enumerate(groupby(words, key=lambda w: w.block)):
        block = list(block_words)
        lines = [" ".join(w.text for w in line) for _, line in groupby(block, key=lambda w: (w.paragraph, w.line))]
        chunks.append(
            Chunk(
                number, index, "\n".join(lines),
                round(min(w.left for w in block) / zoom, 1), round(min(w.top for w in block) / zoom, 1),
                round(max(w.left + w.width for w in block) / zoom, 1), round(max(w.top + w.height for w in block) / zoom, 1),
            )
        )
    return chunks


def _one_line_per_line(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _joined(texts: Iterable[str]) -> str:
    return "\n".join(texts)
