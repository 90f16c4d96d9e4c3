"""LABEL's review form: a Training Sheet's answers edited as the same schema-driven form the
Canonical Labeling Tool shows (choices, text, numbers, lists, boxes on the image), not as JSON.

The schema is the template's output schema (a label is the template's answer, so both have one
shape); a pair's response fills the form as far as it can be read, and the form's values come
back as the response the review actions approve, checked by the same rules as a typed answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.core.domain.canonical_label import TEXT_KEY
from services.core.domain.template import FieldType, LabelType, SchemaField, Template
from services.labels.label_schemas import FormKind, LabelSchema, label_data_from_form, schema_from_template
from services.review.rules import is_free_text
from services.templates.output_parsing import parse_output


@dataclass(frozen=True)
class ResponseForm:
    """A pair's review form: its schema, the template it answers, and the pair's response as values."""

    schema: LabelSchema
    template: Template
    data: dict[str, Any]

    def response(self, raw: Mapping[str, Any], original: str) -> str:
        return response_from_form(self.schema, raw, original, self.template)

    def values_of(self, response: str) -> dict[str, Any]:
        return form_data(response, self.schema, self.template)


def form_for(template: Template, response: str, observed: Sequence[Mapping[str, Any]] = ()) -> ResponseForm:
    schema = form_schema(template, observed)
    return ResponseForm(schema, template, form_data(response, schema, template))


def form_schema(template: Template, observed: Sequence[Mapping[str, Any]] = ()) -> LabelSchema:
    """The form for a template's answers: one text for a free-text answer (or a template without
    an output schema), else the output schema's fields; boxes for localization, with the classes
    the template names or, failing that, those seen in the sheet's labels (`observed`)."""
    if not template.output_schema or is_free_text(template):
        return LabelSchema(template.label_type, FormKind.TEXT, (SchemaField(TEXT_KEY, FieldType.STRING),), source="a free-text answer")
    return schema_from_template(template, observed)


def needs_observed_labels(template: Template) -> bool:
    """Only a localization form reads the sheet's labels (for box classes the template leaves open)."""
    return template.label_type == LabelType.LOCALIZATION and not any(f.choices for f in template.output_schema)


def form_data(response: str, schema: LabelSchema, template: Template) -> dict[str, Any]:
    """The response as the form's start values: what of it can be read against the template
    (an answer with a wrong field still fills the others), or nothing."""
    if schema.kind is FormKind.TEXT:
        return {TEXT_KEY: response}
    parsed = parse_output(response, template.output_schema)
    return dict(parsed.value) if isinstance(parsed.value, dict) else {}


def response_from_form(schema: LabelSchema, raw: Mapping[str, Any], original: str, template: Template) -> str:
    """The response the form's values stand for: the stored text when they say what it says
    (so an untouched form is not an edit), else the values as JSON (or the text, for a
    free-text answer). Raises ValidationError naming a value that cannot be read."""
    if schema.kind is FormKind.TEXT:
        return str(raw.get(TEXT_KEY) or "")
    data = label_data_from_form(schema, raw)
    if _comparable(schema, data) == _comparable(schema, form_data(original, schema, template)):
        return original
    return json.dumps(data, ensure_ascii=False)


def _comparable(schema: LabelSchema, data: Mapping[str, Any]) -> dict[str, Any]:
    """What of `data` the form can show and give back: its schema's values, strings stripped,
    empty values left out (the form leaves an empty input out of the label)."""
    names = [f.name for f in schema.fields] or list(data)
    kept = {name: data.get(name) for name in names}
    return {
        name: value.strip() if isinstance(value, str) else value
        for name, value in kept.items()
        if value is not None and value != [] and not (isinstance(value, str) and not value.strip())
    }
