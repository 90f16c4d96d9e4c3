"""Training Sheets over a real (tagged or not) source sheet, for the Example Store's tests."""

from __future__ import annotations

from services.core.domain.qa_pair import TrainingSheet
from services.core.domain.sheet import SheetDraft
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from tests.builders import build_invoice_source
from tests.train_builders import PairSpec, build_training_sheet

SOURCE_TABLE = "mirion_vital.raw.invoices"


def source_sheet_id(wb: Workbench) -> str:
    """A real sheet over the invoice table (made once per store): tags on it govern its pairs."""
    sheets = SheetService(wb)
    existing = [s for s in sheets.list() if s.name == "Example source"]
    if existing:
        return existing[0].id
    build_invoice_source(wb)
    return sheets.create(SheetDraft("Example source", SOURCE_TABLE, "invoice_id", sample_size=20)).id


def sheet_with_pairs(wb: Workbench, specs: list[PairSpec], name: str = "Crystals") -> TrainingSheet:
    """build_training_sheet, its pairs pointing at the real source sheet."""
    sheet = build_training_sheet(wb, specs, name)
    real = source_sheet_id(wb)
    engine = wb.backend.engine
    engine.execute(f"UPDATE {wb.table('training_sheets')} SET sheet_id = :s WHERE id = :id", {"s": real, "id": sheet.id})
    engine.execute(f"UPDATE {wb.table('qa_pairs')} SET sheet_id = :s WHERE training_sheet_id = :id", {"s": real, "id": sheet.id})
    return sheet


def pair_ids(wb: Workbench, training_sheet_id: str) -> list[str]:
    rows = wb.backend.engine.query(
        f"SELECT id FROM {wb.table('qa_pairs')} WHERE training_sheet_id = :id ORDER BY ordinal", {"id": training_sheet_id}
    )
    return [r["id"] for r in rows]


def set_pair(wb: Workbench, pair_id: str, status: str | None = None, prohibited: list[str] | None = None) -> None:
    """A reviewer's later decision, written straight to the row (what sync and retrieval must see)."""
    engine, table = wb.backend.engine, wb.table("qa_pairs")
    if status is not None:
        engine.execute(f"UPDATE {table} SET status = :status WHERE id = :id", {"status": status, "id": pair_id})
    if prohibited is not None:
        engine.execute(f"UPDATE {table} SET prohibited_uses = :p WHERE id = :id", {"p": prohibited, "id": pair_id})


def tag_source(wb: Workbench, tags: dict[str, str]) -> None:
    wb.backend.catalog.set_table_tags(SOURCE_TABLE, tags)  # type: ignore[attr-defined]
