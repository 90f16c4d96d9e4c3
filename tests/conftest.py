"""Shared fixtures: every test gets its own store directory (DuckDB locks its file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from data_access.settings import Settings, load_settings
from data_access.sql.duckdb_engine import release_home
from services.workbench import Workbench, forget_prepared_stores, open_workbench


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"WORKBENCH_HOME": str(tmp_path / "home"), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "tester@example.com"})


@pytest.fixture
def workbench(settings: Settings) -> Iterator[Workbench]:
    """An empty, migrated embedded store (no demo data)."""
    forget_prepared_stores()
    yield open_workbench(settings)
    forget_prepared_stores()
    release_home(settings.home)


def _pdf_bytes(text: str, pages: int = 1) -> bytes:
    import pymupdf

    document = pymupdf.open()
    for number in range(pages):
        page = document.new_page()
        page.insert_text((72, 72), f"{text} page {number + 1}")
    return document.tobytes()


@pytest.fixture
def invoice_source(workbench: Workbench) -> Workbench:
    """A small raw invoice table (200 rows) and a volume holding PDFs for the first five."""
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
        workbench.backend.files.write_bytes(f"/Volumes/mirion_vital/raw/invoice_pdfs/INV-{i:04d}.pdf", _pdf_bytes(f"INV-{i:04d}", pages=2))
    workbench.backend.files.write_bytes("/Volumes/mirion_vital/raw/invoice_pdfs/INV-0005.pdf", b"%PDF-1.7 truncated")
    return workbench
