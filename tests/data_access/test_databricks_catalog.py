"""DatabricksCatalogBrowser through the real databricks-sdk against a loopback Unity Catalog fake."""

from collections.abc import Iterator

import pytest

from data_access.catalog.browser import CatalogObjectNotFound, ColumnInfo, TableSummary, VolumeInfo
from data_access.catalog.databricks_browser import DatabricksCatalogBrowser, InvalidTagError
from data_access.sql.databricks_engine import DatabricksSqlEngine
from data_access.sql.names import InvalidNameError
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.fakes.dbapi_fake import FakeWarehouse

INVOICES = "mirion_vital.raw.invoices"


@pytest.fixture
def rest() -> Iterator[FakeDatabricksRest]:
    with FakeDatabricksRest() as rest:
        rest.add_table(INVOICES, [("invoice_id", "string"), ("total_amount", "decimal(10,2)"), ("codes", "array<string>")], comment="Raw invoices")
        rest.add_table("mirion_vital.raw.big_invoices", [("invoice_id", "string")], table_type="VIEW")
        rest.add_volume("mirion_vital.raw.invoice_pdfs")
        rest.add_schema("mirion_vital", "information_schema")
        rest.add_catalog("analytics")
        yield rest


@pytest.fixture
def catalog(rest) -> Iterator[DatabricksCatalogBrowser]:
    warehouse = FakeWarehouse()
    yield DatabricksCatalogBrowser(rest.client(), DatabricksSqlEngine(warehouse.connect))
    warehouse.close()


def test_catalogs_schemas_tables_and_volumes_are_listed_in_name_order(catalog):
    assert catalog.list_catalogs() == ["analytics", "mirion_vital"]
    assert catalog.list_schemas("mirion_vital") == ["raw"]
    assert catalog.list_tables("mirion_vital", "raw") == [
        TableSummary("mirion_vital", "raw", "big_invoices", "VIEW"),
        TableSummary("mirion_vital", "raw", "invoices", "TABLE"),
    ]
    assert catalog.list_volumes("mirion_vital", "raw") == [VolumeInfo("mirion_vital", "raw", "invoice_pdfs", "MANAGED")]


def test_a_table_comes_with_its_columns_type_text_comment_and_tags(catalog, rest):
    rest.tags[("tables", INVOICES)] = {"PHI": "", "owner": "finance"}
    table = catalog.get_table(INVOICES)
    assert table.columns == (
        ColumnInfo("invoice_id", "string"),
        ColumnInfo("total_amount", "decimal(10,2)"),
        ColumnInfo("codes", "array<string>"),
    )
    assert (table.comment, table.tags, table.table_type) == ("Raw invoices", {"PHI": "", "owner": "finance"}, "TABLE")


def test_objects_that_do_not_exist_raise_catalog_object_not_found(catalog):
    with pytest.raises(CatalogObjectNotFound, match=r"mirion_vital\.raw\.nope does not exist"):
        catalog.get_table("mirion_vital.raw.nope")
    with pytest.raises(CatalogObjectNotFound):
        catalog.list_schemas("nowhere")
    with pytest.raises(CatalogObjectNotFound):
        catalog.list_tables("mirion_vital", "nowhere")
    assert not catalog.table_exists("mirion_vital.raw.nope")
    assert catalog.table_exists(INVOICES)


def test_a_table_the_user_may_not_see_is_reported_as_not_visible(catalog, rest):
    rest.deny(INVOICES)
    with pytest.raises(CatalogObjectNotFound, match="permission"):
        catalog.get_table(INVOICES)


def test_a_table_name_that_is_not_three_identifiers_is_refused_before_any_request(catalog, rest):
    sent = len(rest.requests)
    with pytest.raises(InvalidNameError):
        catalog.get_table("mirion_vital.raw.invoices/../../x")
    assert len(rest.requests) == sent


def test_setting_tags_adds_new_ones_and_overwrites_existing_ones(catalog, rest):
    catalog.set_table_tags(INVOICES, {"PII": "", "owner": "finance"})
    catalog.set_table_tags(INVOICES, {"owner": "claims"})
    assert catalog.get_table(INVOICES).tags == {"PII": "", "owner": "claims"}
    assert rest.tags[("tables", INVOICES)] == {"PII": "", "owner": "claims"}


@pytest.mark.parametrize("tags", [{"a-b": "x"}, {"a/b": "x"}, {" lead": "x"}, {"": "x"}, {"ok": "x" * 1001}, {"ok": "line\nbreak"}])
def test_tags_unity_catalog_would_refuse_are_refused_and_nothing_is_sent(catalog, rest, tags):
    sent = len(rest.requests)
    with pytest.raises(InvalidTagError):
        catalog.set_table_tags(INVOICES, {"CONFIDENTIAL": "", **tags})
    assert len(rest.requests) == sent
    assert ("tables", INVOICES) not in rest.tags


def test_tagging_a_missing_table_raises_catalog_object_not_found(catalog):
    with pytest.raises(CatalogObjectNotFound):
        catalog.set_table_tags("mirion_vital.raw.nope", {"PHI": ""})
