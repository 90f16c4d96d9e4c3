"""Seed step: the three demo Sheets, created through the same service a person uses."""

from __future__ import annotations

from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.data.sheets import SheetService
from services.demo import crystals, invoices, telemetry
from services.demo.context import DemoContext, StepCounts
from services.demo.names import CRYSTALS_SHEET, DEMO_SHEET_NAMES, INVOICES_SHEET, TELEMETRY_SHEET

__all__ = ["CRYSTALS_SHEET", "DEMO_SHEET_NAMES", "INVOICES_SHEET", "TELEMETRY_SHEET", "clear", "demo_sheet_drafts", "seed"]


def demo_sheet_drafts(context: DemoContext) -> tuple[SheetDraft, ...]:
    return (
        SheetDraft(
            name=INVOICES_SHEET,
            description="Medical billing invoices with structured fields and PDF documents (some scanned, "
            "one unreadable upload). The table is tagged PHI, so its labels are never used for training.",
            primary_table=context.raw_table(invoices.TABLE),
            item_ref_column="invoice_id",
            secondary_sources=(SecondarySource(SourceKind.VOLUME, context.volume(invoices.VOLUME), "invoice_id"),),
        ),
        SheetDraft(
            name=CRYSTALS_SHEET,
            description="Visual inspection images of NaI(Tl), CsI(Tl), LaBr3 and BGO crystals with growth and "
            "handling sensor context, for defect classification and localization.",
            primary_table=context.raw_table(crystals.TABLE),
            item_ref_column="inspection_id",
            secondary_sources=(SecondarySource(SourceKind.VOLUME, context.volume(crystals.VOLUME), "inspection_id"),),
        ),
        SheetDraft(
            name=TELEMETRY_SHEET,
            description="Hourly readings from gamma spectrometers, area monitors and portal monitors across "
            "five sites, labelled with failures in the following seven days.",
            primary_table=context.raw_table(telemetry.TABLE),
            item_ref_column="reading_id",
        ),
    )


def existing_demo_sheet_ids(context: DemoContext) -> dict[str, str]:
    """Demo sheet name -> id, for the demo sheets present in the store."""
    return {sheet.name: sheet.id for sheet in SheetService(context.workbench).list() if sheet.name in DEMO_SHEET_NAMES}


def seed(context: DemoContext) -> StepCounts:
    service = SheetService(context.workbench)
    present = existing_demo_sheet_ids(context)
    created = [service.create(draft) for draft in demo_sheet_drafts(context) if draft.name not in present]
    return {"sheets": len(created) + len(present)}


def clear(context: DemoContext) -> None:
    service = SheetService(context.workbench)
    for sheet_id in existing_demo_sheet_ids(context).values():
        service.delete(sheet_id)
