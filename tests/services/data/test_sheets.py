import os
import re
import shutil
from dataclasses import replace

import pytest

from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.core.errors import NotFoundError, StaleWriteError, ValidationError
from services.data.sheets import SheetService

PDFS = "/Volumes/mirion_vital/raw/invoice_pdfs"


def _draft(**changes) -> SheetDraft:
    draft = SheetDraft(
        name="Invoices",
        primary_table="mirion_vital.raw.invoices",
        item_ref_column="invoice_id",
        description="January invoices",
        secondary_sources=(SecondarySource(SourceKind.VOLUME, PDFS, "invoice_id"),),
    )
    return replace(draft, **changes)


@pytest.fixture
def service(invoice_source):
    return SheetService(invoice_source)


def test_creating_a_sheet_records_who_made_it_and_how_many_items_it_has(service):
    sheet = service.create(_draft(filter_condition="total_amount >= 1000", sample_size=50))
    assert sheet.created_by == "tester@example.com"
    assert sheet.row_count == 50
    assert sheet.join_keys == ("invoice_id",)
    assert service.list() == [sheet]


def test_a_sheets_items_join_their_pdfs_by_file_name(service):
    sheet = service.create(_draft())
    page = service.items(sheet, offset=0, limit=10)
    assert page.total == 200
    assert [i.item_ref for i in page.items][:3] == ["INV-0000", "INV-0001", "INV-0002"]
    assert page.items[0].media[0].path == f"{PDFS}/INV-0000.pdf"
    assert page.items[0].media[0].kind == "pdf"
    assert page.items[9].media == ()


def test_items_are_paged_in_sql_after_filter_and_sample(service):
    sheet = service.create(_draft(filter_condition="provider_name = 'Lakeside Clinic'", sample_size=30))
    first, last = service.items(sheet, 0, 25), service.items(sheet, 25, 25)
    assert first.total == 30
    assert len(first.items) == 25 and len(last.items) == 5
    assert {i.fields["provider_name"] for i in first.items + last.items} == {"Lakeside Clinic"}


def test_a_table_source_adds_its_columns_to_each_item(service):
    providers = SecondarySource(SourceKind.TABLE, "mirion_vital.raw.providers", "provider_name")
    sheet = service.create(_draft(secondary_sources=(providers,)))
    item = service.items(sheet, 0, 1).items[0]
    assert item.fields["providers__state"] == "NY"


def test_a_filter_on_a_column_the_joined_table_also_has_filters_the_primary_table(service):
    providers = SecondarySource(SourceKind.TABLE, "mirion_vital.raw.providers", "provider_name")
    sheet = service.create(_draft(secondary_sources=(providers,), filter_condition="provider_name = 'City Medical Center'"))
    assert sheet.row_count == 100


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "  "}, "Give the sheet a name"),
        ({"primary_table": 'mirion_vital.raw."invoices"'}, "letters, digits and underscores"),
        ({"primary_table": "mirion_vital.raw.invoices; DROP TABLE x"}, "letters, digits"),
        ({"primary_table": "invoices"}, "three-part name"),
        ({"primary_table": "mirion_vital.raw.nothing"}, "does not exist"),
        ({"item_ref_column": "nope"}, "not a column"),
        ({"filter_condition": "total_amount > 1; DROP TABLE mirion_vital.workbench.sheets"}, "single expression"),
        ({"filter_condition": "invoice_id IN (SELECT invoice_id FROM mirion_vital.raw.invoices)"}, "Subqueries"),
        ({"filter_condition": "bogus > 1"}, "Unknown column"),
        ({"secondary_sources": (SecondarySource(SourceKind.VOLUME, "/Volumes/mirion_vital/raw/../secrets", "invoice_id"),)}, "'..'"),
        ({"secondary_sources": (SecondarySource(SourceKind.VOLUME, "/Volumes/mirion_vital/raw/nowhere", "invoice_id"),)}, "does not exist"),
        ({"secondary_sources": (SecondarySource(SourceKind.VOLUME, PDFS, "no_such_key"),)}, "join key"),
        ({"sample_size": 0}, "Sample size"),
        ({"primary_table": "mirion_vital.workbench.canonical_labels", "item_ref_column": "id"}, "the workbench's own"),
        ({"primary_table": "Mirion_Vital.WORKBENCH.qa_pairs", "item_ref_column": "id"}, "the workbench's own"),
        ({"secondary_sources": (SecondarySource(SourceKind.TABLE, "mirion_vital.workbench.sheets", "invoice_id", "id"),)}, "the workbench's own"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(service, changes, message):
    with pytest.raises(ValidationError, match=message):
        service.create(_draft(**changes))
    assert service.count() == 0


def test_sheet_names_are_unique_regardless_of_case(service):
    service.create(_draft())
    with pytest.raises(ValidationError, match="already exists"):
        service.create(_draft(name="INVOICES"))


def test_a_stale_edit_is_refused_naming_who_changed_the_sheet(service):
    sheet = service.create(_draft())
    service.update(sheet.id, replace(sheet.as_draft(), description="first editor"), read_version=sheet.row_version)
    with pytest.raises(StaleWriteError, match=re.escape("tester@example.com changed 'Invoices'")):
        service.update(sheet.id, replace(sheet.as_draft(), description="second editor"), read_version=sheet.row_version)
    assert service.get(sheet.id).description == "first editor"


def test_editing_checks_the_draft_and_bumps_the_version(service):
    sheet = service.create(_draft())
    with pytest.raises(ValidationError):
        service.update(sheet.id, replace(sheet.as_draft(), filter_condition="1; SELECT 1"), read_version=1)
    updated = service.update(sheet.id, replace(sheet.as_draft(), sample_size=10), read_version=1)
    assert (updated.row_version, updated.row_count) == (2, 10)


def test_duplicating_a_sheet_gives_the_copy_a_free_name(service):
    sheet = service.create(_draft())
    assert service.duplicate(sheet.id).name == "Invoices (copy)"
    assert service.duplicate(sheet.id).name == "Invoices (copy 2)"


def test_deleting_a_sheet_removes_it_and_a_second_delete_says_it_is_gone(service):
    sheet = service.create(_draft())
    service.delete(sheet.id)
    with pytest.raises(NotFoundError):
        service.delete(sheet.id)


def test_a_sheet_carries_its_tables_unity_catalog_tags(service, invoice_source):
    invoice_source.backend.catalog.set_table_tags("mirion_vital.raw.invoices", {"PHI": "true"})
    sheet = service.create(_draft())
    assert service.with_tags(sheet).tags == {"PHI": "true"}


def test_iterating_a_sheets_items_visits_each_once_in_item_order(service):
    sheet = service.create(_draft(filter_condition="total_amount >= 100", sample_size=150))
    batches = list(service.iter_items(sheet, batch_size=40))
    refs = [item.item_ref for batch in batches for item in batch]
    assert [len(b) for b in batches] == [40, 40, 40, 30]
    assert refs == sorted(refs) and len(set(refs)) == 150 == service.item_count(sheet)


def test_items_can_be_fetched_by_their_refs(service):
    sheet = service.create(_draft())
    items = service.items_for_refs(sheet, ["INV-0003", "INV-0001", "INV-9999"])
    assert [i.item_ref for i in items] == ["INV-0001", "INV-0003"]
    assert items[0].media[0].path.endswith("INV-0001.pdf")


def test_stored_media_paths_are_only_accepted_inside_the_sheets_volumes(service):
    sheet = service.create(_draft())
    assert [m.path for m in service.media_for(sheet, [f"{PDFS}/INV-0001.pdf"])] == [f"{PDFS}/INV-0001.pdf"]
    with pytest.raises(ValidationError, match="outside this sheet's volumes"):
        service.media_for(sheet, ["/Volumes/mirion_vital/raw/other_volume/secret.pdf"])
    with pytest.raises(ValidationError, match=re.escape("'..'")):
        service.media_for(sheet, [f"{PDFS}/../other_volume/secret.pdf"])


LINKED = "Volume /Volumes/mirion_vital/raw/invoice_pdfs is a link to a folder elsewhere; a volume must be a folder of the store, so it is not served."


def _volume_becomes_a_link_out_of_the_store(workbench, tmp_path):
    volume = workbench.settings.home / "volumes/mirion_vital/raw/invoice_pdfs"
    shutil.move(volume, tmp_path / "outside")
    os.symlink(tmp_path / "outside", volume)


def test_a_volume_that_is_a_link_out_of_the_store_cannot_join_a_sheet(service, invoice_source, tmp_path):
    _volume_becomes_a_link_out_of_the_store(invoice_source, tmp_path)
    with pytest.raises(ValidationError) as raised:
        service.create(_draft())
    assert str(raised.value) == LINKED
    assert service.count() == 0


def test_a_sheet_whose_volume_became_a_link_says_so_and_still_shows_its_rows(service, invoice_source, tmp_path):
    sheet = service.create(_draft())
    _volume_becomes_a_link_out_of_the_store(invoice_source, tmp_path)
    page = SheetService(invoice_source).items(sheet, offset=0, limit=10)
    assert page.volume_problems == (LINKED,)
    assert len(page.items) == 10 and all(item.media == () for item in page.items)
