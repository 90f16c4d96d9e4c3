"""Small, real source data for tests: tables in the local catalog and files in its volumes."""

from __future__ import annotations

from dataclasses import replace

import pymupdf

from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.core.workbench import Workbench

INVOICE_PDFS = "/Volumes/mirion_vital/raw/invoice_pdfs"


def pdf_bytes(text: str, pages: int = 1) -> bytes:
    document = pymupdf.open()
    for number in range(pages):
        document.new_page().insert_text((72, 72), f"{text} page {number + 1}")
    return document.tobytes()


def build_invoice_source(workbench: Workbench) -> None:
    """200 invoices, a providers table, two-page PDFs for INV-0000..0004 and a corrupt INV-0005."""
    engine = workbench.backend.engine
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    engine.execute(
        "CREATE TABLE mirion_vital.raw.invoices AS SELECT "
        "concat('INV-', lpad(CAST(i AS STRING), 4, '0')) AS invoice_id, "
        "CAST(i * 10 AS DECIMAL(10,2)) AS total_amount, "
        "CASE WHEN i % 2 = 0 THEN 'City Medical Center' ELSE 'Lakeside Clinic' END AS provider_name "
        "FROM range(200) AS t(i)"
    )
    engine.execute("CREATE TABLE mirion_vital.raw.providers AS SELECT 'City Medical Center' AS provider_name, 'NY' AS state")
    for i in range(5):
        workbench.backend.files.write_bytes(f"{INVOICE_PDFS}/INV-{i:04d}.pdf", pdf_bytes(f"INV-{i:04d}", pages=2))
    workbench.backend.files.write_bytes(f"{INVOICE_PDFS}/INV-0005.pdf", b"%PDF-1.7 truncated")


def joined_invoice_draft(**changes: object) -> SheetDraft:
    """A sheet over the invoice source joining both its PDF volume and the providers table."""
    draft = SheetDraft(
        name="Invoices",
        primary_table="mirion_vital.raw.invoices",
        item_ref_column="invoice_id",
        secondary_sources=(
            SecondarySource(SourceKind.VOLUME, INVOICE_PDFS, "invoice_id"),
            SecondarySource(SourceKind.TABLE, "mirion_vital.raw.providers", "provider_name"),
        ),
    )
    return replace(draft, **changes)


REGIONS = "mirion_vital.raw.regions"
STATE_NAMES = "mirion_vital.raw.state_names"


def build_region_source(workbench: Workbench) -> None:
    """20 regions whose column names are not plain identifiers (legal in Unity Catalog, written
    in backticks): `region id` (R-000…R-019), `state code` (NY, CA, TX in turn), `größe` (i × 1.5)
    and `tag`s`; and a table of state names joined on `state code`."""
    engine = workbench.backend.engine
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    engine.execute(
        f"CREATE TABLE {REGIONS} AS SELECT concat('R-', lpad(CAST(i AS STRING), 3, '0')) AS `region id`, "
        "CASE i % 3 WHEN 0 THEN 'NY' WHEN 1 THEN 'CA' ELSE 'TX' END AS `state code`, "
        "CAST(i * 1.5 AS DECIMAL(6,1)) AS `größe`, concat('tag-', CAST(i AS STRING)) AS `tag``s` FROM range(20) AS t(i)"
    )
    engine.execute(
        f"CREATE TABLE {STATE_NAMES} AS SELECT * FROM VALUES ('NY', 'New York'), ('CA', 'California') AS s(`state code`, `state name`)"
    )
