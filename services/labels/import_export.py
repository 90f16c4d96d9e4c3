"""Canonical labels in and out of the workbench: export as JSONL, import from JSONL or CSV.

An import is checked in full before anything is written: the columns, every row's values,
its item (one query for all refs), its label against the label type's schema, and repeats
within the file. The check returns a report (row, item, error). Nothing is written from a
file with errors unless the person asks to import only its valid rows. Writes go through
`CanonicalLabelService.save` (change kind `import`) with the version each label had when
the file was checked, so a label someone changes between the check and the apply is
reported as a conflict, not overwritten. JSON in a row is read strictly: a repeated key or
nesting deeper than MAX_JSON_DEPTH refuses that row (never a traceback, never a silent pick).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.core.domain.canonical_label import CanonicalLabel, ChangeKind, Confidence, LabelContent, LabelKey
from services.core.domain.governance import UsageConstraints
from services.core.domain.sheet import Sheet
from services.core.domain.template import is_valid_label_type
from services.core.errors import StaleWriteError, ValidationError, WorkbenchError
from services.core.governance import checked_constraints, constraints_from_tags
from services.core.workbench import Workbench
from services.data.sheet_items import SheetItem
from services.data.sheets import SheetService
from services.labels.canonical_labels import CanonicalLabelService
from services.labels.canonical_labels_store import CanonicalLabelsStore
from services.labels.constraint_audit import ConstraintChange, LabelConstraintAudit, governance_differs
from services.labels.label_schemas import (
    FormKind,
    ImageSize,
    LabelSchema,
    LabelSchemaService,
    label_data_from_form,
    label_problems,
)
from services.labels.labeling_session import item_image_size

MAX_IMPORT_BYTES = 20 * 1024 * 1024  # a file bigger than this is a bulk migration, not an upload
MAX_IMPORT_ROWS = 10_000  # each row is a versioned MERGE (about 2 ms): an import stays well under a minute
HEADER_ROW = 1  # issues about the file's columns point at its first line
MAX_JSON_DEPTH = 32  # a label is a few levels deep (boxes: a list of objects); deeper is hostile or broken

LABEL_DATA = "label_data"
REQUIRED_COLUMNS = ("item_ref", "label_type")
OPTIONAL_COLUMNS = (LABEL_DATA, "confidence", "notes", "allowed_uses", "prohibited_uses", "usage_reason", "data_classification")
# An export carries these too; importing it back ignores them (the import is the author now).
EXPORT_ONLY_COLUMNS = ("sheet_id", "label_id", "version", "labeled_by", "labeled_at", "last_modified_by", "last_modified_at")
_USE_SEPARATORS = (";", "|", ",")
_CSV_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class ImportIssue:
    row: int  # line of the file (CSV: the header is row 1)
    item_ref: str
    error: str


@dataclass(frozen=True)
class ImportCandidate:
    row: int
    key: LabelKey
    content: LabelContent
    read_version: int = 0  # the label's version when the file was checked (0: no label then)


@dataclass(frozen=True)
class ValidationReport:
    file_name: str
    rows_read: int
    valid: tuple[ImportCandidate, ...] = ()
    issues: tuple[ImportIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def rows_with_errors(self) -> int:
        return len({i.row for i in self.issues})


@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # rows with errors, left out because only valid rows were imported
    conflicts: tuple[ImportIssue, ...] = field(default_factory=tuple)

    @property
    def written(self) -> int:
        return self.created + self.updated


class LabelImportExport:
    def __init__(self, workbench: Workbench, sheet: Sheet) -> None:
        self._wb = workbench
        self._sheet = sheet if sheet.tags else SheetService(workbench).with_tags(sheet)
        self._labels = CanonicalLabelService(workbench)
        self._schemas = LabelSchemaService(workbench)
        self._store = CanonicalLabelsStore(
            workbench.backend.engine, workbench.table("canonical_labels"), workbench.table("canonical_label_versions")
        )

    # -- export -----------------------------------------------------------------------------
    def export_jsonl(self, label_type: str | None = None) -> bytes:
        """One label per line (its key, data, confidence, notes, constraints, version, who and when)."""
        lines = [json.dumps(_exported(label), ensure_ascii=False) for label in self._store.for_sheet(self._sheet.id, label_type)]
        return ("\n".join(lines) + "\n" if lines else "").encode("utf-8")

    # -- import -----------------------------------------------------------------------------
    def check(self, data: bytes, file_name: str) -> ValidationReport:
        """Read and check a CSV or JSONL file; writes nothing."""
        if len(data) > MAX_IMPORT_BYTES:
            return _file_problem(file_name, f"{file_name} is {len(data) / 1e6:.1f} MB; imports are limited to {MAX_IMPORT_BYTES / 1e6:.0f} MB.")
        try:
            text = _decoded(data, file_name)
        except ValidationError as error:
            return _file_problem(file_name, str(error), line=_line_of_bad_byte(data))
        parsed = _parsed_rows(text, file_name)
        if parsed.file_issues:
            return ValidationReport(file_name, 0, (), tuple(parsed.file_issues))
        rows_read = len(parsed.rows) + len({i.row for i in parsed.row_issues})
        if rows_read > MAX_IMPORT_ROWS:
            return _file_problem(file_name, f"{file_name} has {rows_read:,} rows; import at most {MAX_IMPORT_ROWS:,} at a time.")
        report = self._checked_rows(file_name, parsed.rows)
        if report.rows_read == 0 and report.issues:  # the columns are wrong: row problems would only repeat it
            return report
        issues = sorted((*parsed.row_issues, *report.issues), key=lambda i: i.row)
        return ValidationReport(file_name, rows_read, report.valid, tuple(issues))

    def apply(self, report: ValidationReport, only_valid: bool = False) -> ImportResult:
        """Write a checked file's labels; refuses a file with errors unless `only_valid`."""
        if report.issues and not only_valid:
            raise ValidationError(
                f"{report.file_name} has {len(report.issues)} problem(s) in {report.rows_with_errors} row(s); nothing was imported. "
                f"Fix them, or import only the {len(report.valid)} valid row(s)."
            )
        if not report.valid:
            raise ValidationError(f"{report.file_name} has no valid rows to import.")
        current = self._current_labels({c.key.label_type for c in report.valid})
        defaults = constraints_from_tags(self._sheet.tags)
        created = updated = unchanged = 0
        conflicts, changes = [], []
        for candidate in report.valid:
            existing = current.get(candidate.key)
            if existing is not None and existing.content == candidate.content:
                unchanged += 1
                continue
            try:
                # The version the row was checked against: a label changed since is a conflict.
                saved = self._labels.save(candidate.key, candidate.content, candidate.read_version, ChangeKind.IMPORT)
            except StaleWriteError as error:
                conflicts.append(ImportIssue(candidate.row, candidate.key.item_ref, str(error)))
                continue
            before = existing.constraints if existing else defaults
            changes.append(ConstraintChange(saved.id, before, saved.constraints, self._wb.user.email))
            created, updated = (created, updated + 1) if existing else (created + 1, updated)
        LabelConstraintAudit(self._wb).record(changes)
        return ImportResult(created, updated, unchanged, report.rows_with_errors if only_valid else 0, tuple(conflicts))

    def import_file(self, data: bytes, file_name: str, only_valid: bool = False) -> tuple[ValidationReport, ImportResult]:
        report = self.check(data, file_name)
        return report, self.apply(report, only_valid)

    # -- checking rows ----------------------------------------------------------------------
    def _checked_rows(self, file_name: str, rows: list[_Row]) -> ValidationReport:
        label_types = sorted({r.label_type for r in rows if is_valid_label_type(r.label_type)})
        schemas = {t: self._schemas.for_type(self._sheet.id, t) for t in label_types}
        unknown_columns = _unknown_columns(rows, schemas)
        if unknown_columns:
            return ValidationReport(file_name, 0, (), (ImportIssue(HEADER_ROW, "", unknown_columns),))
        items = {i.item_ref: i for i in SheetService(self._wb).items_for_refs(self._sheet, {r.item_ref for r in rows if r.item_ref})}
        defaults = constraints_from_tags(self._sheet.tags)
        current = self._current_labels(set(label_types))
        valid, issues, seen = [], [], {}
        for row in rows:
            problems: list[str] = []
            existing = current.get(LabelKey(self._sheet.id, row.item_ref, row.label_type))
            candidate = self._candidate(row, schemas, defaults, existing.constraints if existing else None, problems)
            if candidate is not None and existing is not None:
                candidate = replace(candidate, read_version=existing.version)
            if row.item_ref and row.item_ref not in items:
                problems.append(f"{row.item_ref} is not an item of '{self._sheet.name}'.")
            if candidate is not None and not problems:
                schema = schemas[row.label_type]
                image = self._image_size(items[row.item_ref]) if schema.kind is FormKind.BOXES else None
                problems += label_problems(schema, candidate.content.label_data, image)
            key = (row.item_ref, row.label_type)
            if key in seen:
                problems.append(f"Repeats {row.item_ref} ({row.label_type}) from row {seen[key]}; keep one row per item and label type.")
            seen.setdefault(key, row.number)
            if problems:
                issues += [ImportIssue(row.number, row.item_ref, p) for p in problems]
            elif candidate is not None:
                valid.append(candidate)
        return ValidationReport(file_name, len(rows), tuple(valid), tuple(issues))

    def _candidate(
        self, row: _Row, schemas: Mapping[str, LabelSchema], defaults: UsageConstraints, before: UsageConstraints | None,
        problems: list[str],
    ) -> ImportCandidate | None:
        if not row.item_ref:
            problems.append("item_ref is empty.")
        if not is_valid_label_type(row.label_type):
            problems.append(f"label_type '{row.label_type}' must be lowercase letters, digits and underscores (for example classification).")
            return None
        data = _label_data(row, schemas[row.label_type], problems)
        confidence = (row.text("confidence") or Confidence.HIGH.value).lower()
        if confidence not in {c.value for c in Confidence}:
            problems.append(f"confidence '{confidence}' must be high, medium or low.")
        constraints = _constraints(row, before or defaults, problems)
        if data is None or constraints is None or problems:
            return None
        content = LabelContent(data, confidence, row.text("notes"), constraints)
        return ImportCandidate(row.number, LabelKey(self._sheet.id, row.item_ref, row.label_type), content)

    def _image_size(self, item: SheetItem) -> ImageSize | None:
        try:
            return item_image_size(self._wb, item)
        except WorkbenchError:
            return None  # the boxes are still checked for shape; the item's page shows why its image is unreadable

    def _current_labels(self, label_types: set[str]) -> dict[LabelKey, CanonicalLabel]:
        return {label.key: label for t in sorted(label_types) for label in self._labels.for_sheet(self._sheet.id, t).values()}


# -- reading the file ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    number: int
    values: Mapping[str, Any]  # CSV: strings; JSONL: JSON values
    from_csv: bool

    @property
    def item_ref(self) -> str:
        return self.text("item_ref")

    @property
    def label_type(self) -> str:
        return self.text("label_type")

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return "" if value is None else str(value).strip()

    def has(self, name: str) -> bool:
        value = self.values.get(name)
        return value is not None and not (isinstance(value, str) and not value.strip())


class JsonRefused(ValueError):
    """JSON that parses but is refused: a repeated key, or nesting deeper than MAX_JSON_DEPTH."""


def _without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise JsonRefused(f"the key '{key}' appears more than once; keep one")
        found[key] = value
    return found


def _depth(value: Any) -> int:
    """How many levels of arrays and objects `value` nests (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def strict_json(text: str) -> Any:
    """json.loads that refuses a repeated key (JSON would silently keep the last) and deep nesting;
    raises json.JSONDecodeError for malformed text, JsonRefused for the rest."""
    too_deep = JsonRefused(f"too deeply nested (JSON may nest at most {MAX_JSON_DEPTH} levels)")
    try:
        value = json.loads(text, object_pairs_hook=_without_repeated_keys)
    except RecursionError:
        raise too_deep from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise too_deep
    return value


def _decoded(data: bytes, file_name: str) -> str:
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        raise ValidationError(
            f"{file_name} is not UTF-8 text: byte 0x{data[offset]:02x} at byte offset {offset} cannot be decoded "
            f"({error.reason}). Save the file as UTF-8 (in Excel: 'CSV UTF-8') and import it again."
        ) from error


def _line_of_bad_byte(data: bytes) -> int:
    try:
        data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as error:
        return data[: error.start].count(b"\n") + 1
    return HEADER_ROW


def _file_problem(file_name: str, message: str, line: int = HEADER_ROW) -> ValidationReport:
    return ValidationReport(file_name, 0, (), (ImportIssue(line, "", message),))


@dataclass(frozen=True)
class _Parsed:
    rows: list[_Row]
    file_issues: list[ImportIssue] = field(default_factory=list)  # the file cannot be read as labels at all
    row_issues: list[ImportIssue] = field(default_factory=list)  # lines that cannot be read; the others can


def _parsed_rows(text: str, file_name: str) -> _Parsed:
    if _is_jsonl(text, file_name):
        return _jsonl_rows(text)
    return _csv_rows(text)


def _is_jsonl(text: str, file_name: str) -> bool:
    lowered = file_name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return True
    if lowered.endswith((".csv", ".tsv", ".txt")):
        return False
    return text.lstrip().startswith("{")


def _jsonl_rows(text: str) -> _Parsed:
    rows, issues = [], []
    known = {*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *EXPORT_ONLY_COLUMNS}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = strict_json(line)
        except json.JSONDecodeError as error:
            issues.append(ImportIssue(number, "", f"Not valid JSON: {error.msg} at column {error.colno}."))
            continue
        except JsonRefused as error:
            issues.append(ImportIssue(number, "", f"{str(error)[:1].upper()}{str(error)[1:]}."))
            continue
        if not isinstance(value, dict):
            issues.append(ImportIssue(number, "", "Each line must be one JSON object (one label)."))
            continue
        ref = str(value.get("item_ref") or "")
        missing = [c for c in (*REQUIRED_COLUMNS, LABEL_DATA) if c not in value]
        unknown = sorted(set(value) - known)
        if missing:
            issues.append(ImportIssue(number, ref, f"Missing key(s) {', '.join(missing)}."))
        if unknown:
            issues.append(ImportIssue(number, ref, f"Unknown key(s) {', '.join(unknown)}; expected {', '.join([*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS])}."))
        if not missing and not unknown:
            rows.append(_Row(number, value, from_csv=False))
    if not rows and not issues:
        return _Parsed([], [ImportIssue(HEADER_ROW, "", "The file is empty.")])
    return _Parsed(rows, [], issues)


def _csv_rows(text: str) -> _Parsed:
    # The delimiter is read from the header alone: label_data cells hold JSON full of commas.
    first_line = text.split("\n", 1)[0]
    delimiter = max(_CSV_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter if first_line.count(delimiter) else ",")
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return _Parsed([], [ImportIssue(HEADER_ROW, "", "The file is empty.")])
    except csv.Error as error:
        return _Parsed([], [ImportIssue(HEADER_ROW, "", f"The header cannot be read as CSV: {error}.")])
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    issues = []
    if missing:
        issues.append(ImportIssue(HEADER_ROW, "", f"Missing required column(s) {', '.join(missing)}; the header is {', '.join(header) or '(empty)'}."))
    if repeated:
        issues.append(ImportIssue(HEADER_ROW, "", f"Column(s) {', '.join(repeated)} appear more than once."))
    if issues:
        return _Parsed([], issues)
    rows = []
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                issues.append(ImportIssue(number, cells[0] if cells else "", f"{len(cells)} values for {len(header)} columns."))
                continue
            rows.append(_Row(number, dict(zip(header, cells, strict=False)), from_csv=True))
    except csv.Error as error:
        return _Parsed([], [ImportIssue(reader.line_num, "", f"The file cannot be read as CSV: {error}.")])
    return _Parsed(rows, [], issues)


def _unknown_columns(rows: Sequence[_Row], schemas: Mapping[str, LabelSchema]) -> str:
    columns = {name for row in rows if row.from_csv for name in row.values}
    fields = {f.name for s in schemas.values() for f in s.fields}
    fields |= {"boxes" for s in schemas.values() if s.kind is FormKind.BOXES}
    known = {*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *EXPORT_ONLY_COLUMNS} | fields
    unknown = sorted(columns - known)
    if not unknown:
        return ""
    expected = ", ".join([*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS])
    field_hint = f"; or one column per field ({', '.join(sorted(fields))})" if fields else ""
    return f"Unknown column(s) {', '.join(unknown)}. Expected {expected}{field_hint}."


def _label_data(row: _Row, schema: LabelSchema, problems: list[str]) -> dict[str, Any] | None:
    if row.has(LABEL_DATA):
        value = row.values[LABEL_DATA]
        if isinstance(value, str):
            try:
                value = strict_json(value)
            except json.JSONDecodeError as error:
                problems.append(f"label_data is not valid JSON: {error.msg} at column {error.colno}.")
                return None
            except JsonRefused as error:
                problems.append(f"label_data: {error}.")
                return None
        if not isinstance(value, dict):
            problems.append("label_data must be a JSON object ({…}).")
            return None
        return value
    if not row.from_csv:
        problems.append("label_data is empty.")
        return None
    raw: dict[str, Any] = {f.name: row.values.get(f.name) for f in schema.fields}
    if schema.kind is FormKind.BOXES:
        boxes_text = row.text("boxes")
        try:
            raw["boxes"] = strict_json(boxes_text) if boxes_text else None
        except json.JSONDecodeError as error:
            problems.append(f"boxes is not valid JSON: {error.msg} at column {error.colno}.")
            return None
        except JsonRefused as error:
            problems.append(f"boxes: {error}.")
            return None
        if raw["boxes"] is None:
            problems.append("Give the boxes (a JSON list) or label_data.")
            return None
    if schema.kind is FormKind.JSON or not any(v not in (None, "") for v in raw.values()):
        problems.append(f"No label values: fill label_data (JSON) or the field columns ({', '.join(f.name for f in schema.fields) or 'none'}).")
        return None
    try:
        return label_data_from_form(schema, raw)
    except ValidationError as error:
        problems.append(str(error))
        return None


def _uses(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = strict_json(text)
        except (json.JSONDecodeError, JsonRefused):
            parsed = None  # then read as separated words; an unknown use is reported by name
        if isinstance(parsed, list):
            return tuple(str(v).strip() for v in parsed if str(v).strip())
    separator = next((s for s in _USE_SEPARATORS if s in text), None)
    return tuple(p.strip() for p in (text.split(separator) if separator else [text]) if p.strip())


def _constraints(row: _Row, before: UsageConstraints, problems: list[str]) -> UsageConstraints | None:
    """The row's constraints; what it leaves out stays as the label has it (a new label: as the source's
    tags say). Changing what a label may be used for needs a reason, as in the labeling tool."""
    if not any(row.has(c) for c in ("allowed_uses", "prohibited_uses", "usage_reason", "data_classification")):
        return before
    # A file that names only one side moves those uses across; the other side keeps the rest.
    allowed = _uses(row.values.get("allowed_uses")) if row.has("allowed_uses") else None
    prohibited = _uses(row.values.get("prohibited_uses")) if row.has("prohibited_uses") else None
    if allowed is None:
        allowed = tuple(u for u in before.allowed_uses if u not in (prohibited or ()))
    if prohibited is None:
        prohibited = tuple(u for u in before.prohibited_uses if u not in allowed)
    constraints = UsageConstraints(
        allowed, prohibited, row.text("usage_reason") or before.usage_reason, row.text("data_classification") or before.data_classification
    )
    try:
        constraints = checked_constraints(constraints, reason_required=False)
    except ValidationError as error:
        problems.append(str(error))
        return None
    if governance_differs(before, constraints) and not row.has("usage_reason"):
        problems.append("These uses change what the label may be used for: give a usage_reason (it is kept in the audit trail).")
        return None
    return constraints


def _exported(label: CanonicalLabel) -> dict[str, Any]:
    c = label.constraints
    return {
        "item_ref": label.key.item_ref,
        "label_type": label.key.label_type,
        LABEL_DATA: label.label_data,
        "confidence": label.content.confidence,
        "notes": label.content.notes,
        "allowed_uses": list(c.allowed_uses),
        "prohibited_uses": list(c.prohibited_uses),
        "usage_reason": c.usage_reason,
        "data_classification": str(c.data_classification),
        "sheet_id": label.key.sheet_id,
        "label_id": label.id,
        "version": label.version,
        "labeled_by": label.labeled_by,
        "labeled_at": _iso(label.labeled_at),
        "last_modified_by": label.last_modified_by,
        "last_modified_at": _iso(label.last_modified_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def iter_report_lines(report: ValidationReport) -> Iterator[str]:
    """The report as text lines, for a download or a log."""
    yield f"{report.file_name}: {report.rows_read} row(s), {len(report.valid)} valid, {len(report.issues)} problem(s)"
    for issue in report.issues:
        yield f"row {issue.row}" + (f" ({issue.item_ref})" if issue.item_ref else "") + f": {issue.error}"
