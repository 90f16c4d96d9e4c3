"""Seed step: medical invoices as PDFs in a volume plus the parsed table the billing team works from.

The table's `extracted_text` is read back from the generated PDFs, never copied from the
records, so scans and the broken upload look to the workbench as they would in production.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd

from services.demo.context import DemoContext, StepCounts, drop_raw_table, remove_volume, replace_raw_table
from services.demo.invoice_catalog import (
    DAILY,
    FIRST_NAMES,
    LAST_NAMES,
    LONG_INVOICE_SHARE,
    MBI_LETTERS,
    MBI_PATTERN,
    ONCE,
    PATIENT_CITIES,
    PAYERS,
    PROCEDURES,
    PROVIDERS,
    SCAN_UPLOADER,
    SHORT_ONLY_SHARE,
    STREET_KINDS,
    STREETS,
    TAXABLE_PREFIXES,
    UPLOADERS,
    VISIT,
    Procedure,
)
from services.demo.invoice_pdf import PdfText, corrupt, read_text, render_invoice, rescan
from services.demo.invoice_records import Invoice, LineItem, Notice, Patient, Presentation, Provider

TABLE = "parsed_invoices"
VOLUME = "medical_invoices"
TAGS = {"PHI": "true", "data_domain": "billing"}
INVOICE_COUNT = 80
SCANNED_COUNT = 5
CORRUPT_COUNT = 1
BILLING_MONTH = date(2026, 1, 1)

COLUMNS_DDL = """
  invoice_id STRING NOT NULL,
  pdf_path STRING,
  invoice_number STRING,
  invoice_date DATE,
  total_amount DECIMAL(10,2),
  account_number STRING,
  provider_name STRING,
  provider_npi STRING,
  extracted_text STRING,
  page_count INT,
  parsing_confidence FLOAT,
  file_size_bytes BIGINT,
  uploaded_at TIMESTAMP,
  uploaded_by STRING,
  patient_name STRING,
  patient_dob DATE,
  insurance_id STRING,
  urgency STRING,
  department STRING
"""


def npi_with_check_digit(base9: str) -> str:
    """A 10-digit NPI: the Luhn check digit is computed over '80840' + the first nine digits."""
    digits = [int(d) for d in "80840" + base9]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return base9 + str((10 - total % 10) % 10)


def _providers(rng: random.Random) -> list[Provider]:
    providers = []
    for name, street, city, area, departments, tax, info_page in PROVIDERS:
        prefix = "".join(word[0] for word in name.replace("&", "").split() if word[0].isupper())[:3]
        providers.append(
            Provider(
                name=name,
                street=street,
                city_line=city,
                phone=f"({area}) 555-01{rng.randint(0, 99):02d}",
                npi=npi_with_check_digit("1" + "".join(str(rng.randint(0, 9)) for _ in range(8))),
                invoice_prefix=prefix,
                departments=departments,
                supply_tax_rate=tax,
                has_billing_info_page=info_page,
            )
        )
    return providers


def _member_id(rng: random.Random, prefix: str) -> str:
    if prefix:
        return f"{prefix}{rng.randint(100_000_000, 999_999_999)}"
    choices = {"C": "123456789", "A": MBI_LETTERS, "X": MBI_LETTERS + "0123456789", "N": "0123456789"}
    return "".join(rng.choice(choices[c]) if c in choices else c for c in MBI_PATTERN)


def _patient(rng: random.Random, account_number: str) -> Patient:
    dob = date(1938, 1, 1) + timedelta(days=rng.randint(0, 70 * 365))
    senior = dob.year <= 1960
    payer, prefix = ("Medicare Part B", "") if senior and rng.random() < 0.7 else rng.choice(PAYERS)
    return Patient(
        name=f"{rng.choice(FIRST_NAMES)} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {rng.choice(LAST_NAMES)}",
        dob=dob,
        street=f"{rng.randint(12, 9850)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}",
        city_line=rng.choice(PATIENT_CITIES),
        payer=payer,
        insurance_id=_member_id(rng, prefix),
        account_number=account_number,
    )


def _price_cents(rng: random.Random, procedure: Procedure) -> int:
    cents = round(rng.uniform(procedure.low_dollars, procedure.high_dollars) * 100)
    # Chargemasters mostly list whole dollars; the rest carry cents.
    return cents - cents % 100 if rng.random() < 0.6 else cents


def _items(rng: random.Random, department: str, last_service: date, long: bool) -> tuple[LineItem, ...]:
    """One visit, or a stay or course of several days: one visit and a few procedures at the
    start, then the daily services (labs, drugs, treatment fractions) on every day."""
    pool = PROCEDURES[department]
    prices = {p.code: _price_cents(rng, p) for p in pool}
    visits = [p for p in pool if p.kind == VISIT]
    once = [p for p in pool if p.kind == ONCE]
    daily = [p for p in pool if p.kind == DAILY]
    days = rng.randint(3, 6) if long else 1
    first = [rng.choice(visits)] if visits and rng.random() < 0.85 else []
    first += rng.sample(once, min(len(once), rng.randint(0 if first else 1, 3 if long else 2)))
    items = []
    for day in range(days):
        service_date = last_service - timedelta(days=days - 1 - day)
        chosen = [*first] if day == 0 else []
        chosen += rng.sample(daily, min(len(daily), rng.randint(2 if long else 0, 6 if long else 4)))
        for procedure in sorted(chosen, key=lambda p: p.code):
            units = rng.randint(50, 100) if procedure.max_units >= 50 else rng.randint(1, procedure.max_units)
            taxable = procedure.code.startswith(TAXABLE_PREFIXES)
            items.append(LineItem(service_date, procedure.code, procedure.description, units, prices[procedure.code], taxable))
    return tuple(items)


def _invoice_dates(rng: random.Random, count: int) -> list[date]:
    business_days = [
        BILLING_MONTH + timedelta(days=d) for d in range(31) if (BILLING_MONTH + timedelta(days=d)).weekday() < 5
    ]
    return sorted(rng.choice(business_days) for _ in range(count))


def build_invoices(rng: random.Random, count: int = INVOICE_COUNT) -> list[Invoice]:
    """The invoices' contents, in date order; the same generator state gives the same invoices."""
    providers = _providers(rng)
    next_number = {p.name: rng.randint(10_000, 80_000) for p in providers}
    indexes = list(range(count))
    rng.shuffle(indexes)
    odd = {i: Presentation.SCANNED for i in indexes[:SCANNED_COUNT]}
    odd |= {i: Presentation.CORRUPT for i in indexes[SCANNED_COUNT : SCANNED_COUNT + CORRUPT_COUNT]}
    patients: list[Patient] = []
    invoices = []
    for index, invoice_date in enumerate(_invoice_dates(rng, count)):
        provider = rng.choice(providers)
        department = rng.choice(provider.departments)
        notice = rng.choices((Notice.NONE, Notice.SECOND, Notice.FINAL), weights=(82, 12, 6))[0]
        if patients and rng.random() < 0.1:
            patient = rng.choice(patients)
        else:
            patient = _patient(rng, f"ACC-{rng.randint(10_000, 99_999)}")
            patients.append(patient)
        lag = rng.randint(45, 120) if notice is not Notice.NONE else rng.randint(3, 24)
        long = rng.random() < LONG_INVOICE_SHARE.get(department, SHORT_ONLY_SHARE)
        next_number[provider.name] += rng.randint(3, 40)
        invoices.append(
            Invoice(
                invoice_id=f"invoice_{index + 1:03d}",
                invoice_number=f"{provider.invoice_prefix}-26-{next_number[provider.name]:06d}",
                invoice_date=invoice_date,
                due_date=invoice_date + timedelta(days={Notice.NONE: 30, Notice.SECOND: 15, Notice.FINAL: 10}[notice]),
                provider=provider,
                department=department,
                patient=patient,
                items=_items(rng, department, invoice_date - timedelta(days=lag), long),
                notice=notice,
                presentation=odd.get(index, Presentation.DIGITAL),
            )
        )
    return invoices


@dataclass(frozen=True)
class ScannedInvoice:
    """A scanned demo invoice as the seed writes it, and the digital PDF it was scanned from."""

    invoice_id: str
    drawn_pdf: bytes
    scanned_pdf: bytes


def scanned_invoices(seed: int) -> list[ScannedInvoice]:
    """The demo's scanned invoices, drawn and scanned exactly as `seed` writes them to the volume."""
    context = DemoContext(None, seed)  # type: ignore[arg-type]  # drawing needs only the seed
    scanned = []
    for invoice in build_invoices(context.random("invoices")):
        if invoice.presentation is Presentation.SCANNED:
            drawn = render_invoice(invoice)
            scan = rescan(drawn, invoice, context.random("scan", invoice.invoice_id), context.numpy("scan", invoice.invoice_id))
            scanned.append(ScannedInvoice(invoice.invoice_id, drawn, scan))
    return scanned


# -- the step ------------------------------------------------------------------------------------
def _confidence(rng: random.Random, expected: PdfText, found: PdfText | None) -> float:
    """OCR-style confidence: how much of the page text the parser recovered, times its certainty."""
    if found is None or not expected.text:
        return 0.0
    coverage = min(1.0, len(found.text.strip()) / len(expected.text.strip()))
    return round(rng.uniform(0.955, 0.995) * coverage, 4)


def _row(invoice: Invoice, path: str, size: int, expected: PdfText, found: PdfText | None,
         rng: random.Random) -> dict[str, object]:
    uploaded = datetime.combine(invoice.invoice_date, datetime.min.time(), UTC) + timedelta(
        days=rng.randint(1, 6), hours=rng.randint(7, 18), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59)
    )
    scanned = invoice.presentation is Presentation.SCANNED
    return {
        "invoice_id": invoice.invoice_id,
        "pdf_path": path,
        "invoice_number": invoice.invoice_number,
        "invoice_date": invoice.invoice_date,
        "total_amount": Decimal(invoice.total_cents).scaleb(-2),
        "account_number": invoice.patient.account_number,
        "provider_name": invoice.provider.name,
        "provider_npi": invoice.provider.npi,
        "extracted_text": found.text if found else None,
        "page_count": found.page_count if found else None,
        "parsing_confidence": _confidence(rng, expected, found),
        "file_size_bytes": size,
        "uploaded_at": uploaded,
        "uploaded_by": SCAN_UPLOADER if scanned else rng.choice(UPLOADERS),
        "patient_name": invoice.patient.name,
        "patient_dob": invoice.patient.dob,
        "insurance_id": invoice.patient.insurance_id,
        "urgency": invoice.notice.urgency,
        "department": invoice.department,
    }


def seed(context: DemoContext) -> StepCounts:
    files = context.workbench.backend.files
    invoices = build_invoices(context.random("invoices"))
    rows = []
    for invoice in invoices:
        pdf = render_invoice(invoice)
        expected = read_text(pdf)
        if expected is None:
            raise RuntimeError(f"The drawn invoice {invoice.invoice_id} does not open; the drawing code is broken.")
        if invoice.presentation is Presentation.SCANNED:
            pdf = rescan(pdf, invoice, context.random("scan", invoice.invoice_id), context.numpy("scan", invoice.invoice_id))
        elif invoice.presentation is Presentation.CORRUPT:
            pdf = corrupt(pdf, context.random("corrupt", invoice.invoice_id))
        found = expected if invoice.presentation is Presentation.DIGITAL else read_text(pdf)
        path = f"{context.volume(VOLUME)}/{invoice.invoice_id}.pdf"
        files.write_bytes(path, pdf)
        rows.append(_row(invoice, path, len(pdf), expected, found, context.random("upload", invoice.invoice_id)))
    frame = pd.DataFrame(rows)
    frame["uploaded_at"] = pd.to_datetime(frame["uploaded_at"], utc=True)
    replace_raw_table(context, TABLE, COLUMNS_DDL, frame, TAGS)
    return {
        "invoices": len(invoices),
        "scanned_invoices": sum(i.presentation is Presentation.SCANNED for i in invoices),
        "corrupt_invoices": sum(i.presentation is Presentation.CORRUPT for i in invoices),
        "invoice_pages": int(frame["page_count"].fillna(0).sum()),
    }


def clear(context: DemoContext) -> None:
    drop_raw_table(context, TABLE)
    remove_volume(context, VOLUME)
