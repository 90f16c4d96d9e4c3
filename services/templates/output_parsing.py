"""Reading a model's answer against a template's output schema.

Models wrap JSON in prose or in ```json fences; the first JSON object found is the answer.
Every problem is reported (not just the first), so a reviewer sees all of what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.core.domain.template import FieldType, SchemaField

MAX_OUTPUT_CHARS = 1_000_000  # beyond any model's output; parsing more is wasted work

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class ParsedOutput:
    ok: bool
    value: dict[str, Any] | None
    errors: tuple[str, ...] = ()


def _candidates(text: str) -> list[str]:
    """Where an answer may be: the whole text, then each fenced block."""
    return [text, *(match.group(1).strip() for match in _FENCE.finditer(text))]


def _first_object(text: str) -> dict[str, Any] | None:
    for candidate in _candidates(text):
        try:
            value = json.loads(candidate)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    # An object embedded in prose: try each '{' until one decodes to a whole object.
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _type_matches(value: Any, kind: FieldType) -> bool:
    if kind is FieldType.STRING:
        return isinstance(value, str)
    if kind is FieldType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is FieldType.NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is FieldType.BOOLEAN:
        return isinstance(value, bool)
    if kind is FieldType.ARRAY:
        return isinstance(value, list)
    return isinstance(value, dict)


def _field_errors(value: dict[str, Any], field: SchemaField) -> list[str]:
    if field.name not in value or value[field.name] is None:
        return [f"Missing required field '{field.name}'."] if field.required else []
    item = value[field.name]
    if not _type_matches(item, field.type):
        return [f"Field '{field.name}' should be {field.type.value}, got {_json_type(item)}: {_short(item)}."]
    if field.choices:
        picked = item if isinstance(item, list) else [item]
        outside = [str(v) for v in picked if str(v) not in field.choices]
        if outside:
            allowed = ", ".join(field.choices)
            return [f"Field '{field.name}' has {', '.join(repr(v) for v in outside)}; allowed: {allowed}."]
    return []


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


def parse_output(text: str | None, schema: Sequence[SchemaField]) -> ParsedOutput:
    """The model's answer as a dict checked against `schema`; `ok` only when nothing is wrong."""
    text = (text or "").strip()
    if not text:
        return ParsedOutput(False, None, ("The model returned nothing.",))
    if len(text) > MAX_OUTPUT_CHARS:
        return ParsedOutput(False, None, (f"The output is longer than {MAX_OUTPUT_CHARS:,} characters.",))
    value = _first_object(text)
    if value is None:
        # A one-field text schema (a summary, an answer) may come back as plain text.
        if len(schema) == 1 and schema[0].type is FieldType.STRING:
            only = schema[0]
            if not only.choices or text in only.choices:
                return ParsedOutput(True, {only.name: text})
            return ParsedOutput(False, None, (f"'{_short(text)[1:-1]}' is not one of: {', '.join(only.choices)}.",))
        return ParsedOutput(False, None, ("No JSON object found in the output.",))
    errors = tuple(error for field in schema for error in _field_errors(value, field))
    return ParsedOutput(not errors, value, errors)
