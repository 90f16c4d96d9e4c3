import pytest

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.template import FieldType, SchemaField
from services.core.errors import ValidationError
from services.data.sheets import SheetService
from services.labels.canonical_labels import CanonicalLabelService
from services.labels.label_schemas import (
    FormKind,
    ImageSize,
    LabelSchemaService,
    built_in_schema,
    check_label,
    label_data_from_form,
    label_problems,
)
from tests.labeling_builders import ENTITY_FIELDS, URGENCY_FIELDS, invoice_sheet, published_template


@pytest.fixture
def sheet(workbench):
    return invoice_sheet(workbench)


def test_the_form_follows_the_newest_published_template_made_for_the_sheet(workbench, sheet):
    published_template(workbench, "classification", (SchemaField("other", FieldType.STRING),), name="Unbound")
    bound = published_template(workbench, "classification", URGENCY_FIELDS, sheet_id=sheet.id, name="Triage")
    schema = LabelSchemaService(workbench).for_type(sheet.id, "classification")
    assert (schema.kind, schema.template_id, schema.closed_choices) == (FormKind.FIELDS, bound.id, True)
    assert [f.name for f in schema.fields] == ["urgency"] and "Triage v1.0.0" in schema.source


def test_a_template_made_for_another_sheet_is_not_used(workbench, sheet):
    published_template(workbench, "document_type", (SchemaField("kind", FieldType.STRING),), sheet_id=sheet.id)
    other = SheetService(workbench).duplicate(sheet.id)
    schema = LabelSchemaService(workbench).for_type(other.id, "document_type")
    assert schema.template_id is None and [f.name for f in schema.fields] == ["document_type"]


def test_without_a_template_classification_offers_the_values_already_used_as_suggestions(workbench, sheet):
    labels = CanonicalLabelService(workbench)
    for ref, urgency in (("INV-0001", "routine"), ("INV-0002", "urgent"), ("INV-0003", "routine")):
        labels.save(LabelKey(sheet.id, ref, "classification"), LabelContent({"urgency": urgency}), 0)
    schema = LabelSchemaService(workbench).for_type(sheet.id, "classification")
    assert schema.fields == (SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")),)
    assert not schema.closed_choices
    assert label_problems(schema, {"urgency": "priority"}) == []  # a new value is allowed: the choices only suggest


def test_built_in_schemas_per_label_type():
    assert built_in_schema("summarization").kind is FormKind.TEXT
    assert built_in_schema("summarization").fields[0].name == "text"
    assert built_in_schema("localization").kind is FormKind.BOXES
    assert built_in_schema("classification").fields == (SchemaField("label", FieldType.STRING),)
    assert built_in_schema("entity_extraction").kind is FormKind.JSON
    seen = built_in_schema("localization", [{"boxes": [{"label": "crack"}, {"label": "inclusion"}]}])
    assert seen.box_classes == ("crack", "inclusion")
    names = built_in_schema("entity_extraction", [{"patient": f"P{i}", "total": i * 1.5, "codes": ["1"]} for i in range(6)])
    assert names.fields == (  # unique values are free text, not choices; types follow the values
        SchemaField("patient", FieldType.STRING), SchemaField("total", FieldType.NUMBER), SchemaField("codes", FieldType.ARRAY))


def test_a_label_missing_required_entities_is_refused_naming_each_entity(workbench, sheet):
    published_template(workbench, "entity_extraction", ENTITY_FIELDS)
    schema = LabelSchemaService(workbench).for_type(sheet.id, "entity_extraction")
    with pytest.raises(ValidationError) as error:
        check_label(schema, {"procedure_codes": ["99213"]})
    assert "Missing required entity 'patient_name'" in str(error.value)
    assert "Missing required entity 'total_amount'" in str(error.value)
    assert label_problems(schema, {"patient_name": "Jane Smith", "total_amount": 285.5}) == []


def test_form_values_are_typed_by_the_schema(workbench, sheet):
    published_template(workbench, "entity_extraction", ENTITY_FIELDS)
    schema = LabelSchemaService(workbench).for_type(sheet.id, "entity_extraction")
    data = label_data_from_form(schema, {"patient_name": " Jane Smith ", "total_amount": "$1,285.50", "procedure_codes": "99213, 87426"})
    assert data == {"patient_name": "Jane Smith", "total_amount": 1285.5, "procedure_codes": ["99213", "87426"]}
    assert label_data_from_form(schema, {"patient_name": "", "total_amount": "12"}) == {"total_amount": 12}
    with pytest.raises(ValidationError, match="'total_amount' must be a number, got 'lots'"):
        label_data_from_form(schema, {"patient_name": "J", "total_amount": "lots"})
    with pytest.raises(ValidationError, match="finite"):
        label_data_from_form(schema, {"patient_name": "J", "total_amount": "nan"})


def test_template_choices_and_field_types_are_rules(workbench, sheet):
    published_template(workbench, "classification", URGENCY_FIELDS)
    schema = LabelSchemaService(workbench).for_type(sheet.id, "classification")
    assert label_problems(schema, {"urgency": "soon"}) == ["'urgency' has 'soon'; allowed: routine, priority, urgent."]
    assert label_problems(schema, {"urgency": 3}) == ["'urgency' should be a string, got 3."]
    assert label_problems(schema, {"urgency": "routine", "mood": "calm"}) == ["Unknown field(s) 'mood'; the schema has urgency."]


def test_boxes_must_be_well_formed_within_the_image_and_of_a_known_class():
    schema = built_in_schema("localization", [{"boxes": [{"label": "crack"}]}])
    image = ImageSize(320, 240)
    good = {"x_min": 10, "y_min": 20, "x_max": 60, "y_max": 80, "label": "crack"}
    assert label_problems(schema, {"boxes": [good]}, image) == []
    assert label_problems(schema, {"boxes": []}, image) == []  # nothing to localize is an answer too
    assert label_problems(schema, {"boxes": [{**good, "x_max": 5}]}, image) == ["Box 1: x_min must be less than x_max and y_min less than y_max."]
    assert label_problems(schema, {"boxes": [{**good, "y_max": 400}]}, image) == ["Box 1: reaches outside the 320×240 image."]
    assert label_problems(schema, {"boxes": [{**good, "label": ""}]}, image) == ["Box 1: missing label."]
    assert label_problems(schema, {"boxes": "everywhere"}) == ['A localization label is {"boxes": [...]}: a list of boxes.']
    closed = schema.__class__(**{**schema.__dict__, "closed_choices": True})
    assert label_problems(closed, {"boxes": [{**good, "label": "stain"}]}) == ["Box 1: class 'stain' is not one of crack."]


def test_a_hand_written_json_label_must_be_an_object():
    schema = built_in_schema("entity_extraction")
    assert label_data_from_form(schema, {"json": '{"a": 1}'}) == {"a": 1}
    with pytest.raises(ValidationError, match="not valid JSON"):
        label_data_from_form(schema, {"json": "{a: 1}"})
    with pytest.raises(ValidationError, match="must be a JSON object"):
        label_data_from_form(schema, {"json": "[1, 2]"})
