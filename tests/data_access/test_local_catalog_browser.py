import pytest

from data_access.catalog.browser import CatalogObjectNotFound


def test_the_local_catalog_lists_catalogs_schemas_tables_columns_and_volumes(invoice_source):
    catalog = invoice_source.backend.catalog
    assert "mirion_vital" in catalog.list_catalogs()
    assert {"raw", "workbench"} <= set(catalog.list_schemas("mirion_vital"))
    assert "main" not in catalog.list_schemas("mirion_vital")
    assert {t.name for t in catalog.list_tables("mirion_vital", "raw")} == {"invoices", "providers"}
    table = catalog.get_table("mirion_vital.raw.invoices")
    assert table.column_names == ["invoice_id", "total_amount", "provider_name"]
    assert table.column("TOTAL_AMOUNT").type_name.startswith("DECIMAL")
    assert [v.path for v in catalog.list_volumes("mirion_vital", "raw")] == ["/Volumes/mirion_vital/raw/invoice_pdfs"]


def test_table_tags_are_read_back_as_set(invoice_source):
    catalog = invoice_source.backend.catalog
    catalog.set_table_tags("mirion_vital.raw.invoices", {"PHI": "true", "data_domain": "billing"})
    catalog.set_table_tags("mirion_vital.raw.invoices", {"data_domain": "finance"})
    assert catalog.get_table("mirion_vital.raw.invoices").tags == {"PHI": "true", "data_domain": "finance"}


def test_a_missing_table_is_not_found(invoice_source):
    with pytest.raises(CatalogObjectNotFound):
        invoice_source.backend.catalog.get_table("mirion_vital.raw.nothing_here")
    assert not invoice_source.backend.catalog.table_exists("mirion_vital.raw.nothing_here")
