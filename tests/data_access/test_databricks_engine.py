"""DatabricksSqlEngine through a DB-API connection that types values as connector 4.9 does and
runs the statements on DuckDB; the workbench's files and catalog go through the real SDK to a
loopback REST fake."""

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from data_access.backends import Backend
from data_access.catalog.databricks_browser import DatabricksCatalogBrowser
from data_access.identity import User
from data_access.schema.migrate import current_version, latest_version, migrate, migrations
from data_access.settings import Settings, load_settings
from data_access.sql.databricks_engine import MAX_PARAMETERS_PER_STATEMENT, DatabricksSqlEngine, connection_arguments
from data_access.sql.engine import SqlError
from data_access.volumes_databricks import DatabricksVolumeFiles
from services.core.domain.sheet import SheetDraft
from services.core.errors import StaleWriteError
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from tests.builders import INVOICE_PDFS, build_invoice_source, joined_invoice_draft
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.fakes.dbapi_fake import WAREHOUSE_PARAMETER_LIMIT, FakeWarehouse

THINGS = "mirion_vital.workbench.things"
USER = User("tester@example.com", "tester", access_token="user-token")


@pytest.fixture
def warehouse() -> Iterator[FakeWarehouse]:
    warehouse = FakeWarehouse()
    yield warehouse
    warehouse.close()


@pytest.fixture
def rest() -> Iterator[FakeDatabricksRest]:
    with FakeDatabricksRest() as rest:
        yield rest


@pytest.fixture
def engine(warehouse) -> Iterator[DatabricksSqlEngine]:
    engine = DatabricksSqlEngine(warehouse.connect)
    yield engine
    engine.close()


@pytest.fixture
def databricks_settings() -> Settings:
    return load_settings({"WORKBENCH_BACKEND": "databricks", "DATABRICKS_WAREHOUSE_ID": "abc123", "WORKBENCH_DEMO_DATA": "0"})


@pytest.fixture
def databricks_workbench(warehouse, rest, engine, databricks_settings) -> Workbench:
    """A migrated workbench whose every adapter is the Databricks one, with the invoice source."""
    client = rest.client(USER.access_token)
    backend = Backend(databricks_settings, engine, DatabricksVolumeFiles(client), DatabricksCatalogBrowser(client, engine), USER)
    workbench = Workbench(backend)
    migrate(engine, databricks_settings)
    rest.add_volume("mirion_vital.raw.invoice_pdfs")
    build_invoice_source(workbench)
    rest.sync_tables_from(warehouse)
    return workbench


@pytest.fixture
def things(engine) -> DatabricksSqlEngine:
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.workbench")
    engine.execute(
        f"CREATE TABLE {THINGS} (id STRING NOT NULL, n BIGINT, score DOUBLE, amount DECIMAL(10,2), "
        "tags ARRAY<STRING>, seen_at TIMESTAMP, note STRING)"
    )
    return engine


def _draft(**changes) -> SheetDraft:
    return joined_invoice_draft(**{"filter_condition": "total_amount < 1000", "sample_size": 50, **changes})


def test_the_full_schema_migrates_through_the_warehouse_and_a_second_run_changes_nothing(engine, warehouse, databricks_settings):
    assert migrate(engine, databricks_settings) == latest_version()
    created = {
        match.group(1)
        for migration in migrations(databricks_settings)
        for statement in migration.statements
        if (match := re.search(r"CREATE TABLE IF NOT EXISTS \w+\.\w+\.(\w+)", statement))
    }
    tables = {r[0] for r in warehouse.database.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'workbench'").fetchall()}
    assert created <= tables and "sheets" in created
    sent = len(warehouse.received)
    assert migrate(engine, databricks_settings) == latest_version()
    assert not any("CREATE TABLE IF NOT EXISTS mirion_vital.workbench.sheets" in s.sql for s in warehouse.received[sent:])
    assert current_version(engine, databricks_settings) == latest_version()


def test_a_sheet_is_created_edited_and_read_entirely_through_databricks_adapters(databricks_workbench, warehouse):
    service = SheetService(databricks_workbench)
    sheet = service.create(_draft())
    assert sheet.row_count == 50
    assert sheet.join_keys == ("invoice_id", "provider_name")
    assert sheet.created_by == "tester@example.com"

    page = service.items(sheet, offset=0, limit=10)
    assert page.total == 50
    assert [item.item_ref for item in page.items][:2] == ["INV-0000", "INV-0001"]
    assert page.items[0].media[0].path == f"{INVOICE_PDFS}/INV-0000.pdf"
    assert page.items[0].fields["providers__state"] == "NY"
    assert page.items[1].fields["providers__state"] is None

    edited = service.update(sheet.id, _draft(name="Invoices under 500", filter_condition="total_amount < 500"), sheet.row_version)
    assert (edited.name, edited.row_count, edited.row_version) == ("Invoices under 500", 50, 2)
    with pytest.raises(StaleWriteError, match="version 2"):
        service.update(sheet.id, _draft(name="Lost edit"), sheet.row_version)
    assert service.get(sheet.id).name == "Invoices under 500"

    inserted = next(s for s in warehouse.received if s.sql.startswith("INSERT INTO mirion_vital.workbench.sheets"))
    assert inserted.types["join_keys"] == "ARRAY" and inserted.parameters["join_keys"] == ["invoice_id", "provider_name"]
    assert "Invoices" not in inserted.sql  # the name travelled as a parameter


def test_named_parameters_reach_the_warehouse_typed_as_the_connector_types_them(engine, warehouse):
    seen = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    row = engine.query_one(
        "SELECT array_contains(:keys, :key) AS found, size(:keys) AS n, :amount AS amount, :seen AS seen, "
        ":missing AS missing, :flag AS flag, :count AS count",
        {"keys": ["a", "b"], "key": "b", "amount": Decimal("1.5E+2"), "seen": seen, "missing": None,
         "flag": np.bool_(True), "count": np.int64(7), "unused": "stays home"},
    )
    assert row == {"found": True, "n": 2, "amount": Decimal("150"), "seen": seen, "missing": None, "flag": True, "count": 7}
    received = warehouse.received[-1]
    assert received.types == {"keys": "ARRAY", "key": "STRING", "amount": "DECIMAL(3,0)", "seen": "TIMESTAMP",
                              "missing": "VOID", "flag": "BOOLEAN", "count": "INT"}
    assert "unused" not in received.parameters


def test_a_missing_parameter_is_named_before_anything_is_sent(engine, warehouse):
    with pytest.raises(SqlError, match="page_size"):
        engine.query("SELECT 1 AS one LIMIT :page_size")
    assert warehouse.received == []


def test_an_update_carrying_a_stale_version_changes_no_rows(things):
    things.execute(f"INSERT INTO {THINGS} (id, n) VALUES (:id, :n)", {"id": "a", "n": 1})
    update = f"UPDATE {THINGS} SET n = n + 1 WHERE id = :id AND n = :read_version"
    assert things.execute(update, {"id": "a", "read_version": 1}) == 1
    assert things.execute(update, {"id": "a", "read_version": 1}) == 0
    assert things.execute(f"DELETE FROM {THINGS} WHERE id = :id", {"id": "a"}) == 1


def test_insert_rows_appends_thousands_of_rows_in_statements_within_the_parameter_limit(things, warehouse):
    count = 3000
    frame = pd.DataFrame(
        {
            "id": [f"row-{i}" for i in range(count)],
            "n": np.arange(count, dtype="int64"),
            "score": [np.nan if i % 10 == 0 else i / 2 for i in range(count)],
            "amount": [Decimal(i) / 4 for i in range(count)],
            "tags": [["phi", f"t{i % 3}"] if i % 2 else [] for i in range(count)],
            "seen_at": pd.date_range("2024-01-01", periods=count, freq="min", tz="UTC"),
            "note": ["O'Brien; DROP TABLE things --" if i == 7 else None for i in range(count)],
        }
    )
    assert things.insert_rows(THINGS, frame) == count
    inserts = [s for s in warehouse.received if s.sql.startswith(f"INSERT INTO {THINGS}")]
    assert len(inserts) == -(-count // (MAX_PARAMETERS_PER_STATEMENT // len(frame.columns)))
    assert max(len(s.parameters) for s in inserts) <= WAREHOUSE_PARAMETER_LIMIT
    assert not any("O'Brien" in s.sql for s in inserts)

    assert things.scalar(f"SELECT count(*) AS n FROM {THINGS}") == count
    row = things.query_one(f"SELECT * FROM {THINGS} WHERE id = :id", {"id": "row-7"})
    assert row == {"id": "row-7", "n": 7, "score": 3.5, "amount": Decimal("1.75"), "tags": ["phi", "t1"],
                   "seen_at": datetime(2024, 1, 1, 0, 7, tzinfo=UTC), "note": "O'Brien; DROP TABLE things --"}
    assert things.query_one(f"SELECT score, tags FROM {THINGS} WHERE id = 'row-10'") == {"score": None, "tags": []}


def test_insert_rows_refuses_names_that_are_not_plain_identifiers(things, warehouse):
    with pytest.raises(SqlError, match="Not a table name"):
        things.insert_rows('things"; DROP TABLE x; --', pd.DataFrame({"id": ["a"]}))
    with pytest.raises(SqlError, match="letters, digits and underscores"):
        things.insert_rows(THINGS, pd.DataFrame({"id; DROP": ["a"]}))
    assert not any(s.sql.startswith("INSERT") for s in warehouse.received)


def test_a_dropped_session_is_reopened_once_and_the_statement_runs(engine, warehouse):
    assert engine.scalar("SELECT 1 AS one") == 1
    warehouse.drop_sessions()
    assert engine.scalar("SELECT 2 AS two") == 2
    assert warehouse.connections_opened == 2


def test_a_warehouse_that_keeps_dropping_sessions_gets_one_retry_then_an_error(engine, warehouse):
    assert engine.scalar("SELECT 1 AS one") == 1
    warehouse.refuse_sessions = True
    with pytest.raises(SqlError, match="Invalid SessionHandle"):
        engine.scalar("SELECT 2 AS two")
    assert warehouse.connections_opened == 2


def test_a_warehouse_error_keeps_the_servers_own_words(engine):
    with pytest.raises(SqlError, match="nope"):
        engine.query("SELECT * FROM mirion_vital.workbench.nope")
    with pytest.raises(SqlError, match="PARSE_SYNTAX_ERROR"):
        engine.query("SELEC 1")


def test_each_thread_works_through_its_own_connection(engine, warehouse):
    results, errors = [], []

    def read() -> None:
        try:
            results.extend(engine.scalar("SELECT :n AS n", {"n": i}) for i in range(10))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == sorted(list(range(10)) * 3)
    assert warehouse.connections_opened == 3


def test_the_connection_uses_the_forwarded_token_or_else_the_sdks_own_credentials(rest):
    client = rest.client("app-token")
    as_user = connection_arguments(client, "abc123", USER)
    assert as_user["server_hostname"] == rest.url.removeprefix("http://")
    assert as_user["http_path"] == "/sql/1.0/warehouses/abc123"
    assert as_user["access_token"] == "user-token" and "credentials_provider" not in as_user

    as_app = connection_arguments(client, "abc123", User("someone@example.com", "someone"))
    assert "access_token" not in as_app
    assert as_app["credentials_provider"]()() == {"Authorization": "Bearer app-token"}


def test_a_warehouse_id_that_is_not_an_id_is_refused_with_what_to_do(rest):
    with pytest.raises(SqlError, match="DATABRICKS_WAREHOUSE_ID"):
        DatabricksSqlEngine.from_workspace(rest.client(), "abc/../x", USER)


def test_a_streamed_query_is_fetched_from_the_cursor_in_batches_with_named_parameters(engine, warehouse):
    rows = engine.stream("SELECT CAST(i AS INT) AS i FROM range(:n) AS t(i) WHERE i >= :low ORDER BY i", {"n": 25, "low": 3}, batch_rows=10)

    assert [[r["i"] for r in b] for b in rows] == [list(range(3, 13)), list(range(13, 23)), [23, 24]]
    assert warehouse.received[-1].types == {"n": "INT", "low": "INT"}


def test_a_query_streamed_as_arrow_is_fetched_from_the_cursor_in_arrow_batches(engine, warehouse):
    batches = list(engine.stream_arrow("SELECT CAST(i AS INT) AS i FROM range(:n) AS t(i) WHERE i >= :low ORDER BY i", {"n": 25, "low": 3}, batch_rows=10))

    assert [b.column("i").to_pylist() for b in batches] == [list(range(3, 13)), list(range(13, 23)), [23, 24]]
    assert warehouse.received[-1].types == {"n": "INT", "low": "INT"}
    warehouse.drop_sessions()
    assert [b.to_pylist() for b in engine.stream_arrow("SELECT 2 AS two")] == [[{"two": 2}]]
    with pytest.raises(SqlError, match="nope"):
        list(engine.stream_arrow("SELECT * FROM mirion_vital.workbench.nope"))


def test_a_streamed_query_on_a_dropped_session_is_reopened_once_before_any_row(engine, warehouse):
    assert engine.scalar("SELECT 1 AS one") == 1
    warehouse.drop_sessions()

    assert [b for b in engine.stream("SELECT 2 AS two")] == [[{"two": 2}]]
    assert warehouse.connections_opened == 2
    with pytest.raises(SqlError, match="nope"):
        list(engine.stream("SELECT * FROM mirion_vital.workbench.nope"))
