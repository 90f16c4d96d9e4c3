"""Drawing the demo invoices with PyMuPDF, "scanning" some, breaking one, and reading them back.

Every page is drawn through one Shape (one content stream), and the document is saved with
fixed metadata and no generated file id, so the same invoice gives the same bytes.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np
from PIL import Image, ImageFilter

from data_access.pymupdf_lean import pymupdf
from services.demo.invoice_records import Invoice, LineItem, Notice, money

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
LEFT, RIGHT = 48, 564
ROW_HEIGHT = 15
FIRST_ROW_Y, CONTINUED_ROW_Y = 304, 110
LAST_ROW_Y_FULL_PAGE = 724  # below this the page footer begins
LAST_ROW_Y_WITH_TOTALS = 513  # the last page also holds totals, terms and the remittance stub
SCAN_DPI = 110  # a typical office-scanner resolution; enough to read, too coarse for a text layer
SCAN_JPEG_QUALITY = 68

INK = (0.12, 0.13, 0.16)
GREY = (0.42, 0.44, 0.48)
RULE = (0.78, 0.8, 0.84)
ALERT = (0.72, 0.1, 0.1)
ACCENTS = ((0.05, 0.28, 0.55), (0.0, 0.45, 0.42), (0.45, 0.16, 0.38), (0.55, 0.27, 0.05), (0.16, 0.35, 0.2))

# Column layout of the line-item table: (header, x, right-aligned)
COLUMNS = (
    ("Service date", LEFT + 4, False),
    ("Code", 112, False),
    ("Description", 158, False),
    ("Units", 420, True),
    ("Unit price", 488, True),
    ("Amount", RIGHT - 4, True),
)
DESCRIPTION_WIDTH = 250

BILLING_INFORMATION = (
    ("Financial assistance", "You may qualify for free or discounted care based on household income and size. "
     "Ask for a Financial Assistance Application at any registration desk or call the billing office."),
    ("Insurance", "We billed the insurance listed on the front of this statement. The amount shown is your "
     "responsibility after your plan's processing; if your coverage has changed, call us before the due date."),
    ("Itemized statements", "You may request a fully itemized statement of every charge at no cost. Codes "
     "shown are CPT and HCPCS procedure codes used by your insurer to process the claim."),
    ("Good faith estimates", "If you are uninsured or paying without insurance, you have the right to a good "
     "faith estimate of expected charges before scheduled services."),
    ("Payment options", "Pay by check, by card over the phone, or set up an interest-free payment plan of up "
     "to 12 months. Include your account number on every payment."),
    ("Disputes", "If you believe this bill is wrong, write to the billing office within 60 days of the "
     "statement date. We will review the charges and respond in writing."),
)


@dataclass(frozen=True)
class PdfText:
    text: str
    page_count: int


def accent_of(invoice: Invoice) -> tuple[float, float, float]:
    return ACCENTS[sum(map(ord, invoice.provider.name)) % len(ACCENTS)]


def paginate(item_count: int) -> list[int]:
    """Items per page: full pages first, then a last page with room for the totals."""
    first_full = (LAST_ROW_Y_FULL_PAGE - FIRST_ROW_Y) // ROW_HEIGHT + 1
    first_last = (LAST_ROW_Y_WITH_TOTALS - FIRST_ROW_Y) // ROW_HEIGHT + 1
    next_full = (LAST_ROW_Y_FULL_PAGE - CONTINUED_ROW_Y) // ROW_HEIGHT + 1
    next_last = (LAST_ROW_Y_WITH_TOTALS - CONTINUED_ROW_Y) // ROW_HEIGHT + 1
    chunks: list[int] = []
    remaining = item_count
    while True:
        full, last = (first_full, first_last) if not chunks else (next_full, next_last)
        if remaining <= last:
            return [*chunks, remaining]
        take = min(full, remaining)
        chunks.append(take)
        remaining -= take


def page_count(item_count: int, with_billing_information: bool) -> int:
    return len(paginate(item_count)) + (1 if with_billing_information else 0)


# -- drawing ---------------------------------------------------------------------------------
def render_invoice(invoice: Invoice) -> bytes:
    doc = pymupdf.open()
    chunks = paginate(len(invoice.items))
    total_pages = len(chunks) + (1 if invoice.provider.has_billing_info_page else 0)
    start = 0
    for number, count in enumerate(chunks, start=1):
        page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        shape = page.new_shape()
        y = _letterhead(shape, invoice) if number == 1 else _continued_header(shape, invoice)
        y = _item_table(shape, invoice, invoice.items[start : start + count], y)
        start += count
        if number == len(chunks):
            _totals_terms_and_stub(shape, invoice, y)
        _footer(shape, invoice, number, total_pages)
        shape.commit()
    if invoice.provider.has_billing_info_page:
        page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        shape = page.new_shape()
        _billing_information(shape, invoice)
        _footer(shape, invoice, total_pages, total_pages)
        shape.commit()
    return _save(doc, invoice)


def _save(doc: pymupdf.Document, invoice: Invoice) -> bytes:
    stamp = _pdf_date(invoice.invoice_date)
    doc.set_metadata(
        {
            "title": f"Invoice {invoice.invoice_number}",
            "author": invoice.provider.name,
            "subject": f"{invoice.department_title} services for account {invoice.patient.account_number}",
            "creator": "VITAL Workbench demo data",
            "producer": "PyMuPDF",
            "creationDate": stamp,
            "modDate": stamp,
        }
    )
    data = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return data


def _pdf_date(day: date) -> str:
    return f"D:{day:%Y%m%d}090000Z"


def _text(shape: pymupdf.Shape, x: float, y: float, text: str, size: float = 9, font: str = "helv",
          color: tuple[float, float, float] = INK) -> None:
    shape.insert_text((x, y), text, fontsize=size, fontname=font, color=color)


def _right(shape: pymupdf.Shape, x: float, y: float, text: str, size: float = 9, font: str = "helv",
           color: tuple[float, float, float] = INK) -> None:
    _text(shape, x - text_width(text, font, size), y, text, size, font, color)


@cache
def _advances(font: str) -> dict[str, float]:
    """Glyph widths of a base-14 font; `pymupdf.get_text_length` walks each string in Python."""
    glyphs = pymupdf.Font(font)
    return {chr(code): glyphs.glyph_advance(code) for code in range(32, 256)}


def text_width(text: str, font: str, size: float) -> float:
    advances = _advances(font)
    return size * sum(advances.get(char, 0.6) for char in text)


def _box(shape: pymupdf.Shape, rect: tuple[float, float, float, float], fill: tuple[float, float, float] | None,
         color: tuple[float, float, float] | None = RULE, width: float = 0.6) -> None:
    shape.draw_rect(pymupdf.Rect(*rect))
    shape.finish(color=color, fill=fill, width=width)


def _tint(color: tuple[float, float, float], amount: float) -> tuple[float, float, float]:
    r, g, b = color
    return (1 - (1 - r) * amount, 1 - (1 - g) * amount, 1 - (1 - b) * amount)


def _letterhead(shape: pymupdf.Shape, invoice: Invoice) -> float:
    accent, provider, patient = accent_of(invoice), invoice.provider, invoice.patient
    _box(shape, (0, 0, PAGE_WIDTH, 8), accent, None)
    _text(shape, LEFT, 50, provider.name, 16, "hebo", accent)
    _text(shape, LEFT, 66, f"Department of {invoice.department_title}", 10, "helv", GREY)
    _text(shape, LEFT, 82, provider.street, 9)
    _text(shape, LEFT, 94, provider.city_line, 9)
    _text(shape, LEFT, 106, f"Phone {provider.phone}    NPI {provider.npi}", 9)
    _right(shape, RIGHT, 50, "INVOICE", 22, "hebo")
    fields = (
        ("Invoice number", invoice.invoice_number),
        ("Invoice date", f"{invoice.invoice_date:%m/%d/%Y}"),
        ("Due date", f"{invoice.due_date:%m/%d/%Y}"),
        ("Account number", patient.account_number),
    )
    for index, (label, value) in enumerate(fields):
        y = 72 + index * 13
        _text(shape, 372, y, label, 8.5, "helv", GREY)
        _right(shape, RIGHT, y, value, 9, "hebo")
    if invoice.notice is not Notice.NONE:
        _box(shape, (LEFT, 120, RIGHT, 140), (1.0, 0.92, 0.92), ALERT)
        _text(shape, LEFT + 8, 134, invoice.notice.value, 9.5, "hebo", ALERT)
    _box(shape, (LEFT, 148, RIGHT, 148.6), RULE, None)
    _box(shape, (LEFT, 158, 300, 258), (0.975, 0.975, 0.98))
    _text(shape, LEFT + 8, 172, "PATIENT", 7.5, "hebo", GREY)
    _text(shape, LEFT + 8, 188, patient.name, 10.5, "hebo")
    _text(shape, LEFT + 8, 202, f"Date of birth: {patient.dob:%m/%d/%Y}", 9)
    _text(shape, LEFT + 8, 216, patient.street, 9)
    _text(shape, LEFT + 8, 228, patient.city_line, 9)
    _box(shape, (312, 158, RIGHT, 258), (0.975, 0.975, 0.98))
    _text(shape, 320, 172, "INSURANCE AND ACCOUNT", 7.5, "hebo", GREY)
    _text(shape, 320, 188, patient.payer, 10, "hebo")
    _text(shape, 320, 202, f"Member ID: {patient.insurance_id}", 9)
    _text(shape, 320, 216, f"Account: {patient.account_number}", 9)
    _text(shape, 320, 230, f"Statement for services {_service_span(invoice.items)}", 8.5, "helv", GREY)
    return _table_header(shape, accent, 268)


def _service_span(items: tuple[LineItem, ...]) -> str:
    first, last = min(i.service_date for i in items), max(i.service_date for i in items)
    return f"{first:%m/%d/%Y}" if first == last else f"{first:%m/%d/%Y} - {last:%m/%d/%Y}"


def _continued_header(shape: pymupdf.Shape, invoice: Invoice) -> float:
    accent = accent_of(invoice)
    _box(shape, (0, 0, PAGE_WIDTH, 8), accent, None)
    _text(shape, LEFT, 40, invoice.provider.name, 12, "hebo", accent)
    _right(shape, RIGHT, 40, f"Invoice {invoice.invoice_number} (continued)", 10, "hebo")
    _text(shape, LEFT, 54, f"Patient: {invoice.patient.name}", 9)
    _right(shape, RIGHT, 54, f"Account: {invoice.patient.account_number}", 9)
    return _table_header(shape, accent, 74)


def _table_header(shape: pymupdf.Shape, accent: tuple[float, float, float], top: float) -> float:
    _box(shape, (LEFT, top, RIGHT, top + 18), _tint(accent, 0.16), None)
    for header, x, right in COLUMNS:
        (_right if right else _text)(shape, x, top + 12.5, header, 8, "hebo", accent)
    return top + 36


def _item_table(shape: pymupdf.Shape, invoice: Invoice, items: tuple[LineItem, ...], y: float) -> float:
    for index, item in enumerate(items):
        if index % 2:
            _box(shape, (LEFT, y - 10.5, RIGHT, y + 4.5), (0.965, 0.97, 0.975), None)
        _text(shape, LEFT + 4, y, f"{item.service_date:%m/%d/%Y}", 8.5)
        _text(shape, 112, y, item.code, 8.5, "hebo")
        _text(shape, 158, y, _fit(item.description, DESCRIPTION_WIDTH, 8.5), 8.5)
        _right(shape, 420, y, str(item.units), 8.5)
        _right(shape, 488, y, money(item.unit_price_cents), 8.5)
        _right(shape, RIGHT - 4, y, money(item.amount_cents), 8.5)
        y += ROW_HEIGHT
    _box(shape, (LEFT, y - 9, RIGHT, y - 8.4), RULE, None)
    return y


def _fit(text: str, width: float, size: float) -> str:
    if text_width(text, "helv", size) <= width:
        return text
    while text and text_width(text + "...", "helv", size) > width:
        text = text[:-1]
    return text.rstrip() + "..."


def _totals_terms_and_stub(shape: pymupdf.Shape, invoice: Invoice, y: float) -> None:
    accent = accent_of(invoice)
    rate = invoice.provider.supply_tax_rate
    tax_label = f"Sales tax ({rate * 100:.2f}% on supplies)" if rate else "Tax (services exempt)"
    rows = (("Subtotal", money(invoice.subtotal_cents)), (tax_label, money(invoice.tax_cents)))
    y += 8
    for label, value in rows:
        _text(shape, 360, y, label, 9, "helv", GREY)
        _right(shape, RIGHT - 4, y, value, 9)
        y += 14
    _box(shape, (352, y - 9, RIGHT, y + 9), _tint(accent, 0.14), accent)
    _text(shape, 360, y + 4, "Total due", 11, "hebo", accent)
    _right(shape, RIGHT - 4, y + 4, money(invoice.total_cents), 11, "hebo", accent)
    terms_y = y + 34
    days = (invoice.due_date - invoice.invoice_date).days
    terms = (
        f"Net {days} days. Please pay {money(invoice.total_cents)} by {invoice.due_date:%B %d, %Y}.",
        "Balances unpaid 30 days after the due date may incur a late fee of 1.5% per month.",
        f"Include account {invoice.patient.account_number} with your payment. Questions: {invoice.provider.phone}.",
    )
    _text(shape, LEFT, terms_y, "Payment terms", 8, "hebo", GREY)
    for index, line in enumerate(terms, start=1):
        _text(shape, LEFT, terms_y + index * 11, line, 8.5)
    _remittance_stub(shape, invoice, accent)


def _remittance_stub(shape: pymupdf.Shape, invoice: Invoice, accent: tuple[float, float, float]) -> None:
    top = 642
    shape.draw_line((LEFT, top), (RIGHT, top))
    shape.finish(color=GREY, width=0.6, dashes="[3 3] 0")
    _text(shape, LEFT, top + 12, "Please detach and return this portion with your payment.", 7.5, "heit", GREY)
    _text(shape, LEFT, top + 30, f"Make checks payable to {invoice.provider.name}", 9, "hebo", accent)
    _text(shape, LEFT, top + 44, invoice.provider.street, 8.5)
    _text(shape, LEFT, top + 55, invoice.provider.city_line, 8.5)
    fields = (
        ("Account", invoice.patient.account_number),
        ("Invoice", invoice.invoice_number),
        ("Amount due", money(invoice.total_cents)),
        ("Amount enclosed", "$ ____________"),
    )
    for index, (label, value) in enumerate(fields):
        y = top + 30 + index * 13
        _text(shape, 360, y, label, 8.5, "helv", GREY)
        _right(shape, RIGHT - 4, y, value, 9, "hebo")


def _footer(shape: pymupdf.Shape, invoice: Invoice, number: int, total: int) -> None:
    _box(shape, (LEFT, 758, RIGHT, 758.5), RULE, None)
    _text(shape, LEFT, 772, f"Questions about this bill? Call {invoice.provider.phone}, Monday-Friday 8am-5pm.", 7.5,
          "helv", GREY)
    _right(shape, RIGHT, 772, f"Page {number} of {total}", 7.5, "helv", GREY)


def _billing_information(shape: pymupdf.Shape, invoice: Invoice) -> None:
    accent = accent_of(invoice)
    _box(shape, (0, 0, PAGE_WIDTH, 8), accent, None)
    _text(shape, LEFT, 44, "Important information about your bill", 15, "hebo", accent)
    _text(shape, LEFT, 60, f"{invoice.provider.name} - account {invoice.patient.account_number}", 9, "helv", GREY)
    y = 92.0
    for heading, body in BILLING_INFORMATION:
        _text(shape, LEFT, y, heading, 10, "hebo")
        for line in _wrap(body, RIGHT - LEFT, 9):
            y += 12
            _text(shape, LEFT, y, line, 9)
        y += 24


@cache
def _wrap(text: str, width: float, size: float) -> tuple[str, ...]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if text_width(candidate, "helv", size) > width and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    return (*lines, line) if line else tuple(lines)


# -- paper and breakage ----------------------------------------------------------------------
def rescan(pdf: bytes, invoice: Invoice, rng: random.Random, noise: np.random.Generator) -> bytes:
    """The invoice as a flatbed scan: each page an image, slightly skewed, toned and noisy.

    Scanners stamp a line of text on each page; that line is all the text layer holds.
    """
    source = pymupdf.open(stream=pdf, filetype="pdf")
    scanned = pymupdf.open()
    scanned_at = invoice.invoice_date + timedelta(days=rng.randint(2, 9))
    station = rng.choice(("FD-SCAN-01", "FD-SCAN-02", "BILLING-MFP-3"))
    for number, page in enumerate(source, start=1):
        image = _paper(page.get_pixmap(dpi=SCAN_DPI, colorspace=pymupdf.csGRAY), rng, noise)
        target = scanned.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        target.insert_image(target.rect, stream=image)
        target.insert_text(
            (LEFT, 14), f"Scanned {scanned_at:%Y-%m-%d} {station} p{number}/{source.page_count}", fontsize=6,
            color=GREY,
        )
    source.close()
    return _save(scanned, invoice)


def _paper(pixmap: pymupdf.Pixmap, rng: random.Random, noise: np.random.Generator) -> bytes:
    page = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width).astype(np.float32)
    # Paper is never white and toner is never black; a scan lifts both towards grey.
    page = 26 + page * (rng.uniform(0.80, 0.88))
    page += noise.normal(0, rng.uniform(5, 9), page.shape)
    specks = noise.random(page.shape) < 0.0006
    page[specks] = noise.uniform(40, 120, int(specks.sum()))
    shade = np.linspace(rng.uniform(-22, -8), 0, 40, dtype=np.float32)
    page[:, :40] += shade if rng.random() < 0.5 else 0
    image = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8), mode="L")
    image = image.rotate(rng.uniform(0.5, 1.8) * rng.choice((-1, 1)), Image.Resampling.BICUBIC, fillcolor=218)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.35, 0.7)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=SCAN_JPEG_QUALITY)
    return buffer.getvalue()


def corrupt(pdf: bytes, rng: random.Random) -> bytes:
    """A broken upload: the header survives, the rest is cut short and scrambled.

    MuPDF repairs a merely truncated PDF, so the body is also garbled past recognition.
    """
    kept = bytearray(pdf[: len(pdf) * rng.randint(25, 40) // 100])
    header = kept.index(b"\n") + 1
    for index in range(header, len(kept)):
        kept[index] ^= rng.randrange(1, 256)
    return bytes(kept)


# -- reading -----------------------------------------------------------------------------------
def read_text(pdf: bytes) -> PdfText | None:
    """The text layer of a PDF, as the ingestion step extracts it; None if it does not open."""
    try:
        doc = pymupdf.open(stream=pdf, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError):
        return None
    with doc:
        text = "\n".join(page.get_text().strip() for page in doc)
        return PdfText(text, doc.page_count)
