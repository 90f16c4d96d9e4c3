"""Shared fixtures: every test gets its own store directory (DuckDB locks its file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from data_access.settings import Settings, load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import Workbench, forget_prepared_stores, open_workbench
from tests.builders import build_invoice_source
from tests.registered_model import registered_chat_model  # noqa: F401 - session fixture: a real registered chat model


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



@pytest.fixture
def invoice_source(workbench: Workbench) -> Workbench:
    """A small raw invoice table (200 rows) and a volume holding PDFs for the first six."""
    build_invoice_source(workbench)
    return workbench
