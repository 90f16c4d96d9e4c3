"""Reading examples from a CSV or JSONL file: each row checked on its own, so a bad row breaks
only itself and the report says which row and why."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from services.core.errors import ValidationError
from services.example_store.drafts import checked_draft
from services.example_store.records import ExampleDraft, RowProblem

# One upload is read in memory and embedded in one go: bound both.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_ROWS = 10_000
FIELDS = ("input", "expected_output", "explanation", "search_keys", "function_name", "domain", "quality_score")
REQUIRED = ("input", "expected_output")


def read_examples(file_name: str, data: bytes) -> tuple[list[tuple[int, ExampleDraft]], list[RowProblem]]:
    """(row number, draft) for each good row and a problem for each bad one; ValidationError when
    the file as a whole cannot be read (type, size, encoding, missing columns)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(f"The file is {len(data) / 1e6:.1f} MB; at most {MAX_UPLOAD_BYTES // 1_000_000} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(f"The file is not UTF-8 text ({error.reason} at byte {error.start}).") from error
    name = file_name.lower()
    if name.endswith((".jsonl", ".ndjson")):
        records = _jsonl_records(text)
    elif name.endswith(".csv"):
        records = _csv_records(text)
    else:
        raise ValidationError("Upload a .csv or .jsonl file.")
    if len(records) > MAX_UPLOAD_ROWS:
        raise ValidationError(f"The file has {len(records):,} rows; upload at most {MAX_UPLOAD_ROWS:,} at a time.")
    good, problems = [], []
    for row, record in records:
        try:
            good.append((row, checked_draft(_draft(record))))
        except ValidationError as error:
            problems.append(RowProblem(row, str(error)))
    return good, problems


def _jsonl_records(text: str) -> list[tuple[int, dict[str, Any] | str]]:
    records: list[tuple[int, dict[str, Any] | str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            records.append((number, f"Not valid JSON: {error.msg} (column {error.colno})."))
            continue
        records.append((number, value if isinstance(value, dict) else "Each line must be a JSON object."))
    return records


def _csv_records(text: str) -> list[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
    if missing:
        raise ValidationError(f"The CSV needs the column(s) {', '.join(missing)}; its header is: {', '.join(reader.fieldnames or ['(empty)'])}.")
    # Row 1 is the header: a person counting rows in a spreadsheet sees the first example as row 2.
    return [(number, dict(record)) for number, record in enumerate(reader, start=2)]


def _draft(record: dict[str, Any] | str) -> ExampleDraft:
    if isinstance(record, str):
        raise ValidationError(record)
    unknown = sorted(set(record) - set(FIELDS) - {None})
    if unknown:
        raise ValidationError(f"Unknown field(s) {', '.join(map(str, unknown))}; fields are {', '.join(FIELDS)}.")
    if None in record:
        raise ValidationError("The row has more cells than the header has columns.")
    return ExampleDraft(
        _text(record.get("input"), "input"), _text(record.get("expected_output"), "expected_output"),
        _text(record.get("explanation"), "explanation"), _keys(record.get("search_keys")),
        _text(record.get("function_name"), "function_name") or None, _text(record.get("domain"), "domain") or None,
        _score(record.get("quality_score")),
    )


def _text(value: Any, field: str) -> str:
    """A JSON object or list as an input or output is kept as its JSON text (function-call arguments)."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValidationError(f"{field} must be text.")
    return str(value)


def _keys(value: Any) -> tuple[str, ...]:
    """A JSON list, or in a CSV cell keys separated by semicolons."""
    if value is None or value == "":
        return ()
    if isinstance(value, list):
        if not all(isinstance(k, str) for k in value):
            raise ValidationError("search_keys must be a list of texts.")
        return tuple(value)
    if isinstance(value, str):
        return tuple(k for k in value.split(";") if k.strip())
    raise ValidationError("search_keys must be a list of texts or keys separated by ';'.")


def _score(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ValidationError(f"quality_score must be a number between 0 and 1, got {value!r}.") from error
