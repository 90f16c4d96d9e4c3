import os
import re
import shutil

from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.data.sheets import SheetService
from tests import hostile_files as corpus
from tests.builders import build_region_source, joined_invoice_draft


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


def _cards(app):
    return [m.value.strip("*") for m in app.markdown if re.fullmatch(r"\*\*(DOC|IMG|OK)-[\w-]+\*\*", m.value)]


def test_hostile_files_each_show_their_message_while_the_other_cards_and_paging_render(open_page, workbench):
    files = (*corpus.HOSTILE_IMAGES, *corpus.AWKWARD_IMAGES, *corpus.HOSTILE_PDFS, *corpus.AWKWARD_PDFS)
    sheet = corpus.corpus_sheet(workbench, files)
    expected = {corpus.stem(f.name): f"{f.name} {f.message}" for f in files if f.message}
    refs = sorted([corpus.stem(f.name) for f in files] + [f"OK-{i:02d}" for i in range(corpus.GOOD_ITEMS)])
    app = open_page("pages/data.py", {"sheet": sheet.id})
    for number, page_refs in enumerate([refs[:12], refs[12:24], refs[24:]]):
        assert not app.exception
        assert _cards(app) == page_refs
        warnings = [w.value for w in app.warning]
        assert len(warnings) == sum(ref in expected for ref in page_refs)
        for warning, ref in zip(warnings, [r for r in page_refs if r in expected], strict=True):
            assert warning.startswith(expected[ref]), (warning, expected[ref])
        assert len(app.image) == sum(ref not in expected for ref in page_refs)  # every other card rendered its file
        assert any(f"page {number + 1} of 3" in m.value for m in app.markdown)
        if number < 2:
            app.button(key=f"sheet_preview_{sheet.id}_page_next").click().run()


def test_a_file_linked_into_another_catalogs_volume_shows_why_on_its_card(open_page, workbench):
    sheet = corpus.corpus_sheet(workbench, ())
    workbench.backend.files.write_bytes("/Volumes/other/secret/vault/x.png", corpus.good_png())
    volumes = workbench.settings.home / "volumes"
    (volumes / "mirion_vital/raw/corpus/OK-01.png").unlink()
    os.symlink(volumes / "other/secret/vault/x.png", volumes / "mirion_vital/raw/corpus/OK-01.png")
    app = open_page("pages/data.py", {"sheet": sheet.id})
    assert not app.exception
    assert [w.value for w in app.warning] == [
        "/Volumes/mirion_vital/raw/corpus/OK-01.png is a link that leads out of its volume, so it is not served."
    ]
    assert len(app.image) == corpus.GOOD_ITEMS - 1


def test_a_volume_that_is_a_link_out_of_the_store_is_not_served_and_the_page_says_so(open_page, workbench, tmp_path):
    sheet = corpus.corpus_sheet(workbench, ())
    volume = workbench.settings.home / "volumes/mirion_vital/raw/corpus"
    shutil.move(volume, tmp_path / "outside")
    os.symlink(tmp_path / "outside", volume)
    app = open_page("pages/data.py", {"sheet": sheet.id})
    assert not app.exception
    assert [w.value for w in app.warning] == [
        "Volume /Volumes/mirion_vital/raw/corpus is a link to a folder elsewhere; a volume must be a folder of the store, so it is not served."
    ]
    assert _cards(app) == [f"OK-{i:02d}" for i in range(corpus.GOOD_ITEMS)] and not app.image
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
    assert "**Filter** · `` `state code` = 'NY' AND größe > 1 ``" in [m.value for m in app.markdown]
    assert any("**6 items**" in m.value for m in app.markdown)
    assert [m.value for m in app.markdown if m.value.startswith("**R-")] == ["**R-003**", "**R-006**", "**R-009**", "**R-012**", "**R-015**", "**R-018**"]
    first = app.table[1].value["Value"].to_dict()  # the first item card's fields (table 0 is the sources)
    assert (first["region id"], first["state code"]) == ("R-003", "NY")


def test_a_table_whose_name_is_not_a_plain_identifier_is_a_message_in_the_form_not_a_traceback(open_page, workbench):
    workbench.backend.engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    workbench.backend.engine.execute("CREATE TABLE mirion_vital.raw.`all regions` AS SELECT 1 AS id")
    app = open_page("pages/data.py")
    app.selectbox(key="new_sheet_schema").select("raw").run()
    assert not app.exception
    message = "table 'all regions' must be letters, digits and underscores, starting with a letter."
    assert set(e.value for e in app.error) == {message}  # in the form (and in the explorer, which shows it too)


def test_creating_a_sheet_shows_and_selects_the_new_one_not_the_one_open_before(open_page, invoice_source):
    before = SheetService(invoice_source).create(SheetDraft("Older", "mirion_vital.raw.invoices", "invoice_id"))
    app = open_page("pages/data.py", {"sheet": before.id})
    assert [h.value for h in app.subheader] == ["Older"]
    app = _create_through_the_form(app)
    assert not app.exception
    created = next(s for s in SheetService(invoice_source).list() if s.name == "Invoices")
    assert app.query_params["sheet"] == created.id
    assert [h.value for h in app.subheader] == ["Invoices"]
    listed = [s.id for s in SheetService(invoice_source).list()]
    assert app.session_state["sheet_list"]["selection"]["rows"] == [listed.index(created.id)]


def test_a_sheets_details_show_its_sources_and_join_keys_filter_tags_and_where_the_catalog_link_appears(open_page, invoice_source):
    invoice_source.backend.catalog.set_table_tags("mirion_vital.raw.invoices", {"data_domain": "finance"})
    sheet = SheetService(invoice_source).create(joined_invoice_draft(filter_condition="total_amount > 100"))
    app = open_page("pages/data.py", {"sheet": sheet.id})
    assert not app.exception
    sources = app.table[0].value
    assert list(sources.index) == ["Primary table", "Volume", "Table"]
    assert list(sources["Path"]) == ["mirion_vital.raw.invoices", "/Volumes/mirion_vital/raw/invoice_pdfs", "mirion_vital.raw.providers"]
    assert list(sources["Joined on"]) == ["item column `invoice_id`", "file name = `invoice_id`", "`provider_name` = `provider_name`"]
    assert any(m.value == "**Filter** · `total_amount > 100`" for m in app.markdown)
    assert any("data_domain" in m.value and "finance" in m.value for m in app.markdown)
    assert any("View in Unity Catalog" in c.value and "local store" in c.value for c in app.caption)


def test_item_cards_show_the_rows_fields_as_a_table(open_page, invoice_source):
    sheet = SheetService(invoice_source).create(joined_invoice_draft(sample_size=3))
    app = open_page("pages/data.py", {"sheet": sheet.id})
    assert not app.exception
    cards = [t.value for t in app.table[1:]]
    assert len(cards) == 3
    first = cards[0]["Value"].to_dict()
    assert first["invoice_id"].startswith("INV-") and first["provider_name"] in ("City Medical Center", "Lakeside Clinic")
    assert first["total_amount"].replace(".", "").replace(",", "").isdigit()
    assert not app.json


def test_parse_documents_on_a_volume_sheet_runs_as_a_job_and_each_card_shows_its_items_parsed_text(open_page, invoice_source):
    from services.core.jobs import JobRunner
    from services.data.volume_parsing import VolumeParsing
    from tests.job_works import WAIT_S

    sheet = SheetService(invoice_source).create(joined_invoice_draft())
    app = open_page("pages/data.py", {"sheet": sheet.id})
    assert not app.exception
    assert any("0 PDFs parsed" in c.value for c in app.caption)
    app.button(key=f"docs_{sheet.id}_0_parse").click().run()
    assert not app.exception
    job = VolumeParsing(invoice_source).latest_job("/Volumes/mirion_vital/raw/invoice_pdfs")
    assert JobRunner(invoice_source).wait(job.id, WAIT_S).status == "succeeded"
    app.run()
    assert not app.exception
    assert any("5 PDFs parsed (10 pages, 0 read by OCR) · 1 could not be read" in c.value for c in app.caption)
    assert [p.text for p in app.progress] == ["6 of 6 items · succeeded"]
    parsed = [e for e in app.expander if e.label.startswith("Parsed text")]
    assert parsed[0].label == "Parsed text · 32 characters"
    assert "INV-0000 page 1" in parsed[0].text[0].value
    failed = next(e for e in app.expander if "could not be read" in e.label)
    assert "INV-0005.pdf cannot be opened: the file is damaged or is not a PDF." in failed.markdown[0].value
