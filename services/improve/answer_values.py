"""The values of an answer's fixed-set fields, read the way MONITOR's SQL reads them
(services/monitor/answer_sql.py): the outermost `{…}` of the text as JSON, each value trimmed and
case-folded, so a value read here and one grouped in SQL compare equal."""

from __future__ import annotations

import json
import re

from services.core.domain.template import SchemaField
from services.monitor.watched_model import WatchedModel, compared_fields, is_categorical

_OUTER_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def categorical_fields(model: WatchedModel) -> tuple[SchemaField, ...]:
    """The answer fields whose values are a fixed set (choices or true/false): the ones that gaps
    and traces count."""
    return tuple(f for f in compared_fields(model.output_schema) if is_categorical(f))


def schema_values(field: SchemaField) -> tuple[str, ...]:
    return tuple(v.casefold() for v in field.choices) if field.choices else ("true", "false")


def answer_values(text: str | None, fields: tuple[SchemaField, ...]) -> dict[str, str | None]:
    """Each field's value in the answer; None where the answer is not JSON or lacks the field."""
    found = _OUTER_OBJECT.search(text or "")
    try:
        data = json.loads(found.group(0)) if found else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return {f.name: None for f in fields}
    return {f.name: _text(data.get(f.name)) for f in fields}


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()
