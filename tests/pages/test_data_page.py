from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.data.sheets import SheetService
from tests.builders import build_region_source


def _create_through_the_form(app, filter_text: str = ""):
    app.text_input(key="new_sheet_name").input("Invoices")
    app.selectbox(key="new_sheet_schema").select("raw").run()
    app.selectbox(key="new_sheet_table").select("invoices").run()
    app.multiselect(key="new_sheet_volumes").select("/Volumes/mirion_vital/raw/invoice_pdfs").run()
    app.text_input(key="new_sheet_filter").input(filter_text)
    app.number_input(key="new_sheet_sample").set_value(12)
    return app.button(key="new_sheet_submit").click().run()


def test_creating_a_sheet_on_the_data_page_shows_its_items_with_pdf_renders(open_page, invoice_source):
    app = _create_through_the_form(open_page("pages/data.py"))
    assert not app.exception
    assert [s.value for s in app.success] == ["Created 'Invoices' with 12 items."]
    sheet = SheetService(invoice_source).list()[0]
    assert app.query_params["sheet"] == sheet.id
    assert any("**12 items**" in m.value for m in app.markdown)
    assert [w.value for w in app.warning] == ["INV-0005.pdf cannot be opened: the file is damaged or is not a PDF."]


def test_an_unsafe_filter_is_refused_on_the_page_and_nothing_is_saved(open_page, invoice_source):
    app = _create_through_the_form(open_page("pages/data.py"), "total_amount > 1; DROP TABLE mirion_vital.workbench.sheets")
    assert not app.exception
    assert [e.value for e in app.error] == ["The filter must be a single expression; ';' and statements are not allowed."]
    assert SheetService(invoice_source).count() == 0


def test_a_deep_link_selects_the_sheet_and_shows_its_tags(open_page, invoice_source):
    invoice_source.backend.catalog.set_table_tags("mirion_vital.raw.invoices", {"PHI": "true"})
    volume = SecondarySource(SourceKind.VOLUME, "/Volumes/mirion_vital/raw/invoice_pdfs", "invoice_id")
    sheet = SheetService(invoice_source).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", secondary_sources=(volume,)))
    app = open_page("pages/data.py", {"sheet": sheet.id})
    assert not app.exception
    assert [h.value for h in app.subheader] == ["Invoices"]
    assert any(":red-badge[PHI]" in m.value for m in app.markdown)
    assert any("**200 items**" in m.value for m in app.markdown)


def test_duplicating_a_sheet_from_the_page_selects_the_copy(open_page, invoice_source):
    sheet = SheetService(invoice_source).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id"))
    app = open_page("pages/data.py", {"sheet": sheet.id})
    app.button(key=f"dup_{sheet.id}").click().run()
    assert not app.exception
    assert [h.value for h in app.subheader] == ["Invoices (copy)"]


def test_the_catalog_explorer_shows_a_tables_rows_and_columns(open_page, invoice_source):
    app = open_page("pages/data.py")
    app.selectbox(key="explorer_schema").select("raw").run()
    app.selectbox(key="explorer_table").select("invoices").run()
    assert not app.exception
    assert any("**mirion_vital.raw.invoices** · 200 rows · 3 columns" in m.value for m in app.markdown)


def test_a_filter_of_900_nested_parentheses_is_refused_on_the_page_as_too_deeply_nested(open_page, invoice_source):
    app = _create_through_the_form(open_page("pages/data.py"), "(" * 900 + "total_amount > 1" + ")" * 900)
    assert not app.exception
    assert [e.value.split(":")[0] for e in app.error] == ["The filter is too deeply nested"]
    assert SheetService(invoice_source).count() == 0


def test_a_sheet_over_the_workbenchs_own_table_is_refused_on_the_page(open_page, invoice_source):
    app = open_page("pages/data.py")
    app.text_input(key="new_sheet_name").input("Labels of labels")
    app.selectbox(key="new_sheet_schema").select("workbench").run()
    app.selectbox(key="new_sheet_table").select("canonical_labels").run()
    app.button(key="new_sheet_submit").click().run()
    assert not app.exception
    assert [e.value for e in app.error] == [
        "mirion_vital.workbench.canonical_labels is one of the workbench's own tables; a sheet points at source data, not at them."
    ]
    assert SheetService(invoice_source).count() == 0


def test_a_sheet_over_columns_that_are_not_plain_identifiers_is_created_and_previewed(open_page, workbench):
    build_region_source(workbench)
    app = open_page("pages/data.py")
    app.text_input(key="new_sheet_name").input("Regions")
    app.selectbox(key="new_sheet_schema").select("raw").run()
    app.selectbox(key="new_sheet_table").select("regions").run()
    app.selectbox(key="new_sheet_item").select("region id")
    app.text_input(key="new_sheet_filter").input("`state code` = 'NY' AND größe > 1")
    app.button(key="new_sheet_submit").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == ["Created 'Regions' with 6 items."]
    assert "`mirion_vital.raw.regions` · item column `region id` · filter `` `state code` = 'NY' AND größe > 1 ``" in [m.value for m in app.markdown]
    assert any("**6 items**" in m.value for m in app.markdown)
    assert [m.value for m in app.markdown if m.value.startswith("**R-")] == ["**R-003**", "**R-006**", "**R-009**", "**R-012**", "**R-015**", "**R-018**"]
    assert '"region id": "R-003", "state code": "NY"' in app.json[0].value


def test_a_table_whose_name_is_not_a_plain_identifier_is_a_message_in_the_form_not_a_traceback(open_page, workbench):
    workbench.backend.engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    workbench.backend.engine.execute("CREATE TABLE mirion_vital.raw.`all regions` AS SELECT 1 AS id")
    app = open_page("pages/data.py")
    app.selectbox(key="new_sheet_schema").select("raw").run()
    assert not app.exception
    message = "table 'all regions' must be letters, digits and underscores, starting with a letter."
    assert set(e.value for e in app.error) == {message}  # in the form (and in the explorer, which shows it too)
