from services.core.domain.template import FieldType, SchemaField
from services.templates.output_parsing import parse_output

SCHEMA = (
    SchemaField("defect_type", FieldType.STRING, choices=("crack", "inclusion", "delamination")),
    SchemaField("severity", FieldType.INTEGER),
    SchemaField("confidence", FieldType.NUMBER, required=False),
    SchemaField("tags", FieldType.ARRAY, required=False),
)


def test_a_plain_json_answer_that_fits_the_schema_parses():
    parsed = parse_output('{"defect_type": "crack", "severity": 3, "confidence": 0.9}', SCHEMA)
    assert parsed.ok
    assert parsed.value == {"defect_type": "crack", "severity": 3, "confidence": 0.9}
    assert parsed.errors == ()


def test_json_inside_a_fenced_block_with_prose_around_it_is_found():
    text = 'Here is my answer:\n```json\n{"defect_type": "inclusion", "severity": 1}\n```\nHope it helps.'
    assert parse_output(text, SCHEMA).value == {"defect_type": "inclusion", "severity": 1}


def test_an_object_embedded_in_prose_without_a_fence_is_found():
    text = 'I think {this is not json} but {"defect_type": "crack", "severity": 2} is the answer.'
    assert parse_output(text, SCHEMA).ok


def test_every_problem_is_reported_not_just_the_first():
    parsed = parse_output('{"defect_type": "scratch", "severity": "high", "confidence": true}', SCHEMA)
    assert not parsed.ok
    assert parsed.value == {"defect_type": "scratch", "severity": "high", "confidence": True}
    assert parsed.errors == (
        "Field 'defect_type' has 'scratch'; allowed: crack, inclusion, delamination.",
        "Field 'severity' should be integer, got string: \"high\".",
        "Field 'confidence' should be number, got boolean: true.",
    )


def test_a_missing_required_field_is_named_and_a_missing_optional_one_is_fine():
    parsed = parse_output('{"defect_type": "crack"}', SCHEMA)
    assert parsed.errors == ("Missing required field 'severity'.",)


def test_choices_apply_to_each_element_of_an_array():
    schema = (SchemaField("labels", FieldType.ARRAY, choices=("a", "b")),)
    assert parse_output('{"labels": ["a", "b"]}', schema).ok
    assert parse_output('{"labels": ["a", "c"]}', schema).errors == ("Field 'labels' has 'c'; allowed: a, b.",)


def test_text_without_json_is_not_an_answer():
    parsed = parse_output("I cannot tell from this image.", SCHEMA)
    assert not parsed.ok
    assert parsed.value is None
    assert parsed.errors == ("No JSON object found in the output.",)


def test_a_single_text_field_accepts_a_plain_text_answer():
    summary = (SchemaField("summary", FieldType.STRING),)
    assert parse_output("  The invoice is overdue.  ", summary).value == {"summary": "The invoice is overdue."}
    verdict = (SchemaField("verdict", FieldType.STRING, choices=("pass", "fail")),)
    assert parse_output("pass", verdict).ok
    assert not parse_output("maybe", verdict).ok


def test_an_empty_answer_says_so():
    assert parse_output("  ", SCHEMA).errors == ("The model returned nothing.",)


def test_a_json_array_without_an_object_is_not_an_answer():
    parsed = parse_output("[1, 2]", SCHEMA)
    assert parsed.errors == ("No JSON object found in the output.",)
