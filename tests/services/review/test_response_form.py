import pytest

from services.core.domain.template import FieldType, SchemaField, Template
from services.core.errors import ValidationError
from services.labels.label_schemas import FormKind
from services.review.response_form import form_for

FIELDS = (
    SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")), SchemaField("total", FieldType.NUMBER),
    SchemaField("codes", FieldType.ARRAY, required=False),
)


def _template(label_type="classification", fields=FIELDS):
    return Template(id="t", family_id="f", name="Triage", label_type=label_type, output_schema=fields)


def test_the_template_output_schema_becomes_the_form_and_the_response_its_values():
    form = form_for(_template(), 'Here you go: {"urgency": "urgent", "total": 12.5, "codes": ["A1", "B2"]}')
    assert form.schema.kind is FormKind.FIELDS and [f.name for f in form.schema.fields] == ["urgency", "total", "codes"]
    assert form.data == {"urgency": "urgent", "total": 12.5, "codes": ["A1", "B2"]}


def test_an_untouched_form_gives_back_the_stored_response_so_it_is_no_edit():
    stored = 'Here you go: {"urgency": "urgent", "total": 12.5, "codes": ["A1", "B2"]}'
    form = form_for(_template(), stored)
    assert form.response({"urgency": "urgent", "total": "12.5", "codes": "A1, B2"}, stored) == stored


def test_a_changed_value_comes_back_as_the_answers_json():
    stored = '{"urgency": "urgent", "total": 12.5}'
    form = form_for(_template(), stored)
    assert form.response({"urgency": "routine", "total": "1,200", "codes": ""}, stored) == '{"urgency": "routine", "total": 1200}'


def test_a_value_that_cannot_be_read_is_named():
    form = form_for(_template(), '{"urgency": "urgent", "total": 12.5}')
    with pytest.raises(ValidationError, match="'total' must be a number"):
        form.response({"urgency": "urgent", "total": "twelve"}, "")


def test_an_answer_with_a_wrong_field_still_fills_the_others():
    form = form_for(_template(), '{"urgency": "someday", "total": 3}')
    assert form.data == {"urgency": "someday", "total": 3}  # the radio offers "someday" beside the choices


def test_a_free_text_answer_is_one_text():
    summary = _template("summarization", (SchemaField("summary", FieldType.STRING),))
    form = form_for(summary, "A routine invoice from Lakeside.")
    assert form.schema.kind is FormKind.TEXT and form.data == {"text": "A routine invoice from Lakeside."}
    assert form.response({"text": "An urgent invoice."}, "A routine invoice from Lakeside.") == "An urgent invoice."
