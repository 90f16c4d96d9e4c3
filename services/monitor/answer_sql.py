"""Reading one field of a JSON answer in SQL, the same way for a model's prediction and an expert's
label. A model may wrap its JSON in prose or a code fence, so the outermost `{…}` is read; text
that is not JSON reads as NULL on both engines (Databricks' `get_json_object` returns NULL, and
the DuckDB transpile guards it with `try_parse_json`)."""

from __future__ import annotations

from services.core.domain.template import SchemaField
from services.monitor.watched_model import is_numeric


def json_field(column: str, path_param: str) -> str:
    """The field at the JSON path bound to `:path_param` (e.g. '$.urgency') of `column`, as text."""
    body = f"regexp_extract({column}, '(?s)\\\\{{.*\\\\}}', 0)"
    return f"CASE WHEN try_parse_json({body}) IS NOT NULL THEN get_json_object({body}, :{path_param}) END"


def comparable(column: str, path_param: str, field: SchemaField) -> str:
    """The field as two answers are compared: numbers as numbers, text trimmed and case-folded."""
    value = json_field(column, path_param)
    return f"try_cast({value} AS DOUBLE)" if is_numeric(field) else f"lower(trim({value}))"


def json_path(field: SchemaField) -> str:
    """A bound parameter's value, never pasted into SQL (only plain names get here: watched_model.has_plain_name)."""
    return "$." + field.name
