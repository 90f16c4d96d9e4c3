"""The Example Store's table on Databricks: retrieval's candidate reads and usage counts through
the real SQL engine and a DB-API connection that, like a warehouse, binds at most 256 values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import pytest

from data_access.schema.migrate import migrate
from data_access.settings import load_settings
from data_access.sql.databricks_engine import DatabricksSqlEngine
from services.example_store.examples_store import ExamplesStore
from services.example_store.records import ExampleFilters
from tests.fakes.dbapi_fake import WAREHOUSE_PARAMETER_LIMIT, FakeWarehouse

CANDIDATES = 450  # more than a warehouse binds in one statement: retrieval widens this far and beyond


@pytest.fixture
def store() -> Iterator[tuple[ExamplesStore, list[str]]]:
    warehouse = FakeWarehouse()
    engine = DatabricksSqlEngine(warehouse.connect)
    settings = load_settings({"WORKBENCH_BACKEND": "databricks", "DATABRICKS_WAREHOUSE_ID": "abc123", "WORKBENCH_DEMO_DATA": "0"})
    migrate(engine, settings)
    schema = settings.qualified_schema
    table = ExamplesStore(engine, f"{schema}.example_store", f"{schema}.qa_pairs", f"{schema}.training_sheets")
    ids = [f"ex-{n:04d}" for n in range(CANDIDATES)]
    now = datetime.now(UTC)
    table.insert_frame(pd.DataFrame({
        "example_id": ids, "input": "x", "expected_output": "y", "domain": ["radiation" if n % 3 else "finance" for n in range(CANDIDATES)],
        "usage_count": 0, "created_by": "tester", "created_at": now, "updated_at": now,
    }))
    yield table, ids
    engine.close()
    warehouse.close()


def test_candidates_past_a_statements_parameter_limit_are_read_and_filtered(store) -> None:
    table, ids = store
    assert CANDIDATES > WAREHOUSE_PARAMETER_LIMIT
    passing = table.passing(ids, ExampleFilters(domain="finance"))
    assert sorted(r["example_id"] for r in passing) == [i for n, i in enumerate(ids) if n % 3 == 0]


def test_usage_is_counted_for_every_example_retrieved(store) -> None:
    table, ids = store
    table.count_usage(ids)
    assert {r["usage_count"] for r in table.passing(ids, ExampleFilters())} == {1}
