"""The medical invoices of the demo as records: what is drawn on each PDF and stored in its row.

Money is kept in integer cents so subtotal, tax and total add up exactly as printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Presentation(StrEnum):
    """How the file reached the billing inbox."""

    DIGITAL = "digital"  # a PDF with a text layer
    SCANNED = "scanned"  # paper, scanned: page images, almost no text layer
    CORRUPT = "corrupt"  # a broken upload: the bytes no longer open as a PDF


class Notice(StrEnum):
    NONE = ""
    SECOND = "SECOND NOTICE - PAST DUE"
    FINAL = "FINAL NOTICE - ACCOUNT WILL BE REFERRED TO COLLECTIONS"

    @property
    def urgency(self) -> str:
        return {Notice.NONE: "routine", Notice.SECOND: "priority", Notice.FINAL: "urgent"}[self]


@dataclass(frozen=True)
class Provider:
    name: str
    street: str
    city_line: str
    phone: str
    npi: str
    invoice_prefix: str
    departments: tuple[str, ...]
    supply_tax_rate: float  # sales tax on taxable supplies (DME, devices), 0 where exempt
    has_billing_info_page: bool  # hospitals print a second sheet of billing rights and assistance


@dataclass(frozen=True)
class Patient:
    name: str
    dob: date
    street: str
    city_line: str
    payer: str
    insurance_id: str
    account_number: str


@dataclass(frozen=True)
class LineItem:
    service_date: date
    code: str
    description: str
    units: int
    unit_price_cents: int
    taxable: bool

    @property
    def amount_cents(self) -> int:
        return self.units * self.unit_price_cents


@dataclass(frozen=True)
class Invoice:
    invoice_id: str
    invoice_number: str
    invoice_date: date
    due_date: date
    provider: Provider
    department: str
    patient: Patient
    items: tuple[LineItem, ...]
    notice: Notice
    presentation: Presentation

    @property
    def subtotal_cents(self) -> int:
        return sum(item.amount_cents for item in self.items)

    @property
    def tax_cents(self) -> int:
        taxable = sum(item.amount_cents for item in self.items if item.taxable)
        return round(taxable * self.provider.supply_tax_rate)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.tax_cents

    @property
    def department_title(self) -> str:
        return self.department.replace("_", " ").title()


def money(cents: int) -> str:
    """As printed on the invoice: `$1,234.56`."""
    return f"${cents / 100:,.2f}"
