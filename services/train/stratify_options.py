"""Which output fields hold a label value to stratify on: a categorical field of the template."""

from __future__ import annotations

import re

from services.core.domain.template import FieldType, LabelType, Template

# Label types whose answer is a category even when the schema lists no choices
# (e.g. a failure mode written as free text, but drawn from a handful of values).
CATEGORICAL_LABEL_TYPES = frozenset({LabelType.CLASSIFICATION.value, LabelType.DOCUMENT_TYPE.value, LabelType.PASS_FAIL.value})
# The field becomes a JSON path ($.name): only plain names are accepted.
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")


def is_plain_field_name(name: str) -> bool:
    return bool(_FIELD_NAME.match(name))


def categorical_fields(template: Template) -> tuple[str, ...]:
    """Fields with choices; without any, the text fields of a categorical label type."""
    plain = [f for f in template.output_schema if is_plain_field_name(f.name) and f.type is FieldType.STRING]
    with_choices = tuple(f.name for f in plain if f.choices)
    if with_choices or template.label_type not in CATEGORICAL_LABEL_TYPES:
        return with_choices
    return tuple(f.name for f in plain)
