import json
from dataclasses import replace

import pytest

from data_access.identity import User
from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.errors import ValidationError
from services.labels.canonical_labels import CanonicalLabelService
from services.labels.import_export import MAX_JSON_DEPTH, LabelImportExport
from tests.labeling_builders import ENTITY_FIELDS, URGENCY_FIELDS, invoice_sheet, photo_sheet, published_template


@pytest.fixture
def sheet(workbench):
    sheet = invoice_sheet(workbench, sample_size=10)
    published_template(workbench, "classification", URGENCY_FIELDS, sheet_id=sheet.id)
    published_template(workbench, "entity_extraction", ENTITY_FIELDS, sheet_id=sheet.id)
    return sheet


@pytest.fixture
def transfer(workbench, sheet):
    return LabelImportExport(workbench, sheet)


def count(workbench):
    return CanonicalLabelService(workbench).count()


def test_a_csv_with_one_column_per_field_imports_typed_labels_with_the_sources_governance(workbench, sheet, transfer):
    csv = (
        b"item_ref,label_type,patient_name,total_amount,procedure_codes,confidence,notes\n"
        b'INV-0001,entity_extraction,Jane Smith,285.50,"99213, 87426",medium,from the paper copy\n'
        b"INV-0002,entity_extraction,Ada Byron,12,,,\n"
    )
    report, result = transfer.import_file(csv, "entities.csv")
    assert report.ok and (result.created, result.updated) == (2, 0)
    label = CanonicalLabelService(workbench).find(LabelKey(sheet.id, "INV-0001", "entity_extraction"))
    assert label.label_data == {"patient_name": "Jane Smith", "total_amount": 285.5, "procedure_codes": ["99213", "87426"]}
    assert (label.content.confidence, label.content.notes, label.version) == ("medium", "from the paper copy", 1)
    assert not label.constraints.permits("training")  # the PHI tag decides when the file says nothing
    assert CanonicalLabelService(workbench).history(label.id)[0].change_kind == "import"


def test_a_file_with_wrong_columns_is_refused_whole(workbench, transfer):
    report = transfer.check(b"item,label_type,urgency\nINV-0001,classification,routine\n", "labels.csv")
    assert [(i.row, i.error) for i in report.issues] == [(1, "Missing required column(s) item_ref; the header is item, label_type, urgency.")]
    unknown = transfer.check(b"item_ref,label_type,urgency,mood\nINV-0001,classification,routine,calm\n", "labels.csv")
    assert unknown.issues[0].row == 1 and unknown.issues[0].error.startswith("Unknown column(s) mood. Expected item_ref, label_type")
    assert not unknown.valid
    with pytest.raises(ValidationError, match="nothing was imported"):
        transfer.apply(unknown)
    assert count(workbench) == 0


def test_a_csv_that_is_not_utf8_is_refused_naming_the_byte_and_its_offset(workbench, transfer):
    latin1 = "item_ref,label_type,patient_name,total_amount\nINV-0001,entity_extraction,José Núñez,10\n".encode("latin-1")
    report = transfer.check(latin1, "entities.csv")
    offset = latin1.index(b"\xe9")
    assert len(report.issues) == 1 and report.issues[0].row == 2
    assert f"not UTF-8 text: byte 0xe9 at byte offset {offset}" in report.issues[0].error
    assert count(workbench) == 0


def test_each_bad_row_is_reported_and_nothing_is_written_unless_only_valid_rows_are_asked_for(workbench, sheet, transfer):
    csv = (
        b"item_ref,label_type,label_data,allowed_uses,usage_reason\n"
        b'INV-0001,classification,"{""urgency"": ""routine""}",,\n'
        b'INV-0002,classification,"{""urgency"": routine}",,\n'
        b'INV-0199,classification,"{""urgency"": ""urgent""}",,\n'
        b'INV-0003,classification,"{""urgency"": ""someday""}",,\n'
        b'INV-0004,entity_extraction,"{""total_amount"": 5}",,\n'
        b'INV-0005,classification,"{""urgency"": ""urgent""}",training;evaluation,\n'
        b'INV-0006,classification,"{""urgency"": ""urgent""}",training;evaluation,Reviewed: no PHI in urgency\n'
        b'INV-0001,classification,"{""urgency"": ""urgent""}",,\n'
    )
    report = transfer.check(csv, "labels.csv")
    errors = {(i.row, i.item_ref): i.error for i in report.issues}
    assert errors[(3, "INV-0002")].startswith("label_data is not valid JSON")
    assert errors[(4, "INV-0199")] == "INV-0199 is not an item of 'Invoices'."
    assert errors[(5, "INV-0003")] == "'urgency' has 'someday'; allowed: routine, priority, urgent."
    assert "Missing required entity 'patient_name'" in errors[(6, "INV-0004")]
    assert "give a usage_reason" in errors[(7, "INV-0005")]
    assert "Repeats INV-0001 (classification) from row 2" in errors[(9, "INV-0001")]
    assert [c.key.item_ref for c in report.valid] == ["INV-0001", "INV-0006"] and report.rows_read == 8
    with pytest.raises(ValidationError, match="6 problem"):
        transfer.apply(report)
    assert count(workbench) == 0

    result = transfer.apply(report, only_valid=True)
    assert (result.created, result.skipped) == (2, 6)
    cleared = CanonicalLabelService(workbench).find(LabelKey(sheet.id, "INV-0006", "classification"))
    assert cleared.constraints.allowed_uses == ("training", "evaluation") and cleared.constraints.usage_reason == "Reviewed: no PHI in urgency"


def test_jsonl_export_round_trips_and_a_reimport_changes_nothing(workbench, sheet, transfer):
    labels = CanonicalLabelService(workbench)
    labels.save(LabelKey(sheet.id, "INV-0001", "classification"), LabelContent({"urgency": "urgent"}, "low", "stamp says final"), 0)
    labels.save(LabelKey(sheet.id, "INV-0002", "entity_extraction"), LabelContent({"patient_name": "Zoë", "total_amount": 7}), 0)
    exported = transfer.export_jsonl()
    lines = [json.loads(line) for line in exported.decode().splitlines()]
    assert [(line["item_ref"], line["label_type"], line["version"]) for line in lines] == [
        ("INV-0001", "classification", 1), ("INV-0002", "entity_extraction", 1)]
    assert lines[0]["label_data"] == {"urgency": "urgent"} and lines[0]["labeled_by"] == "tester@example.com"
    assert lines[1]["label_data"]["patient_name"] == "Zoë"
    assert transfer.export_jsonl("entity_extraction").count(b"\n") == 1

    report, result = transfer.import_file(exported, "labels.jsonl")
    assert report.ok and (result.created, result.updated, result.unchanged) == (0, 0, 2)

    edited = exported.replace(b'"urgency": "urgent"', b'"urgency": "priority"')
    _, result = transfer.import_file(edited, "labels.jsonl")
    label = labels.find(LabelKey(sheet.id, "INV-0001", "classification"))
    assert (result.updated, label.version, label.label_data) == (1, 2, {"urgency": "priority"})
    assert label.content.notes == "stamp says final"


def test_bad_jsonl_lines_are_reported_with_their_line_numbers(workbench, transfer):
    jsonl = b'{"item_ref": "INV-0001", "label_type": "classification", "label_data": {"urgency": "routine"}}\n\nnot json\n[1]\n{"item_ref": "INV-0002", "label_type": "classification"}\n'
    report = transfer.check(jsonl, "labels.jsonl")
    assert [(i.row, i.error.split(":")[0]) for i in report.issues] == [(3, "Not valid JSON"), (4, "Each line must be one JSON object (one label)."), (5, "Missing key(s) label_data.")]
    assert len(report.valid) == 1 and report.rows_read == 4


def test_imported_boxes_are_checked_against_each_items_image(workbench):
    sheet = photo_sheet(workbench)
    transfer = LabelImportExport(workbench, sheet)
    box = {"x_min": 10, "y_min": 10, "x_max": 50, "y_max": 50, "label": "crack"}
    rows = [
        {"item_ref": "INSP-000", "label_type": "localization", "label_data": {"boxes": [box]}},
        {"item_ref": "INSP-001", "label_type": "localization", "label_data": {"boxes": [{**box, "y_max": 999}]}},
    ]
    report = transfer.check("\n".join(json.dumps(r) for r in rows).encode(), "boxes.jsonl")
    assert [(i.row, i.error) for i in report.issues] == [(2, "Box 1: reaches outside the 320×240 image.")]


def _as(workbench, email):
    return replace(workbench, backend=replace(workbench.backend, user=User(email, email.split("@")[0])))


def test_a_label_edited_between_the_check_and_the_apply_is_a_conflict_not_overwritten(workbench, sheet, transfer):
    labels = CanonicalLabelService(workbench)
    key = LabelKey(sheet.id, "INV-0001", "classification")
    labels.save(key, LabelContent({"urgency": "routine"}), 0)
    csv = b'item_ref,label_type,label_data\nINV-0001,classification,"{""urgency"": ""urgent""}"\nINV-0002,classification,"{""urgency"": ""urgent""}"\n'
    report = transfer.check(csv, "labels.csv")
    assert report.ok
    # Meanwhile another expert changes one label and creates the other.
    other = CanonicalLabelService(_as(workbench, "dana@mirion.example"))
    other.save(key, LabelContent({"urgency": "priority"}), 1)
    other.save(LabelKey(sheet.id, "INV-0002", "classification"), LabelContent({"urgency": "routine"}), 0)
    result = transfer.apply(report)
    assert (result.created, result.updated, len(result.conflicts)) == (0, 0, 2)
    assert [c.item_ref for c in result.conflicts] == ["INV-0001", "INV-0002"]
    assert "dana@mirion.example" in result.conflicts[0].error
    assert labels.find(key).label_data == {"urgency": "priority"}
    assert labels.find(LabelKey(sheet.id, "INV-0002", "classification")).label_data == {"urgency": "routine"}


def _nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [60, 100_000])
def test_deeply_nested_json_in_a_row_is_refused_for_that_row(workbench, transfer, depth):
    deep = json.dumps({"urgency": "routine", "extra": "PLACEHOLDER"}).replace('"PLACEHOLDER"', _nested(depth))
    jsonl = (
        '{"item_ref": "INV-0001", "label_type": "classification", "label_data": {"urgency": "routine"}}\n'
        f'{{"item_ref": "INV-0002", "label_type": "classification", "label_data": {deep}}}\n'
    ).encode()
    report = transfer.check(jsonl, "labels.jsonl")
    assert [(i.row, i.error) for i in report.issues] == [(2, f"Too deeply nested (JSON may nest at most {MAX_JSON_DEPTH} levels).")]
    assert len(report.valid) == 1
    cell = _nested(min(depth, 5000))  # a CSV cell past 128 kB is refused by the CSV reader itself
    csv = f'item_ref,label_type,label_data\nINV-0003,classification,"{cell}"\n'.encode()
    assert [i.error for i in transfer.check(csv, "labels.csv").issues] == [f"label_data: too deeply nested (JSON may nest at most {MAX_JSON_DEPTH} levels)."]


def test_a_row_with_a_repeated_json_key_is_refused_not_silently_taken(workbench, transfer):
    jsonl = (
        b'{"item_ref": "INV-0001", "label_type": "classification", "label_data": {"urgency": "routine", "urgency": "urgent"}}\n'
        b'{"item_ref": "INV-0002", "label_type": "classification", "label_data": {"urgency": "routine"}, "item_ref": "INV-0003"}\n'
        b'{"item_ref": "INV-0004", "label_type": "classification", "label_data": {"urgency": "routine"}}\n'
    )
    report = transfer.check(jsonl, "labels.jsonl")
    assert [(i.row, i.error) for i in report.issues] == [
        (1, "The key 'urgency' appears more than once; keep one."),
        (2, "The key 'item_ref' appears more than once; keep one."),
    ]
    assert [c.key.item_ref for c in report.valid] == ["INV-0004"]
    csv = b'item_ref,label_type,label_data\nINV-0005,classification,"{""urgency"": ""routine"", ""urgency"": ""urgent""}"\n'
    assert [i.error for i in transfer.check(csv, "labels.csv").issues] == ["label_data: the key 'urgency' appears more than once; keep one."]
