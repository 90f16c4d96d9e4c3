"""What a canonical label of one label type looks like on one sheet, and checking a label against it.

The form a person fills in, the checks on save and the checks on import all come from one
`LabelSchema`. Its fields are the output schema of the newest published template of that
label type for the sheet (a template's answer and the expert's label must have the same
shape, since generation reuses the label as the template's answer). Without a template,
the schema follows the label type: text types take one text, localization takes boxes, and
other types take the fields already used by labels on the sheet (their values as
suggestions, not rules), or a JSON object when there is nothing to go by.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.core.domain.canonical_label import TEXT_KEY
from services.core.domain.template import FieldType, LabelType, SchemaField, Template, TemplateStatus
from services.core.errors import ValidationError
from services.core.workbench import Workbench
from services.labels.canonical_labels import CanonicalLabelService
from services.templates.prompt_templates import TemplateService

BOXES_KEY = "boxes"  # label_data of a localization label: {"boxes": [{x_min, y_min, x_max, y_max, label}]}
BOX_COORDINATES = ("x_min", "y_min", "x_max", "y_max")
TEXT_LABEL_TYPES = frozenset({LabelType.QA.value, LabelType.GENERATION.value, LabelType.SUMMARIZATION.value})
MAX_SUGGESTED_CHOICES = 40  # more distinct values than this are free text, not a category
MAX_TEXT_CHARS = 100_000  # a label is an answer, not a document
MAX_BOXES = 500  # far beyond what a person draws on one image


class FormKind(StrEnum):
    FIELDS = "fields"  # one input per schema field
    TEXT = "text"  # one free text: {"text": ...}
    BOXES = "boxes"  # rectangles on the item's image, each with a class
    JSON = "json"  # nothing to go by: a JSON object written by hand


@dataclass(frozen=True)
class LabelSchema:
    label_type: str
    kind: FormKind
    fields: tuple[SchemaField, ...] = ()
    box_classes: tuple[str, ...] = ()
    closed_choices: bool = True  # a template's choices are rules; choices seen in labels are suggestions
    source: str = ""  # where the schema came from, in a person's words
    template_id: str | None = None

    @property
    def noun(self) -> str:
        return "entity" if self.label_type == LabelType.ENTITY_EXTRACTION else "field"

    def field(self, name: str) -> SchemaField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class ImageSize:
    width: int
    height: int


class LabelSchemaService:
    def __init__(self, workbench: Workbench) -> None:
        self._templates = TemplateService(workbench)
        self._labels = CanonicalLabelService(workbench)

    def for_type(self, sheet_id: str, label_type: str) -> LabelSchema:
        template = self.template_for(sheet_id, label_type)
        if template is not None and label_type != LabelType.LOCALIZATION:
            return schema_from_template(template)
        observed = [label.label_data for label in self._labels.for_sheet(sheet_id, label_type).values()]
        return schema_from_template(template, observed) if template is not None else built_in_schema(label_type, observed)

    def template_for(self, sheet_id: str, label_type: str) -> Template | None:
        """The newest published template of the type made for this sheet, else one made for no sheet."""
        published = self._templates.list(status=TemplateStatus.PUBLISHED, label_type=label_type)
        for fits in (lambda t: t.source_sheet_id == sheet_id, lambda t: not t.source_sheet_id):
            matching = [t for t in published if fits(t)]
            if matching:
                return max(matching, key=_published_order)
        return None

    def label_types(self, sheet_id: str) -> list[str]:
        """The label types a person may label with: the spec's, the templates', and the sheet's own."""
        known = self._templates.label_types()
        return known + [t for t in self._labels.label_types(sheet_id) if t not in known]


def _published_order(template: Template) -> str:
    moment = template.published_at or template.updated_at or template.created_at
    return moment.isoformat() if moment else ""


def schema_from_template(template: Template, observed: Sequence[Mapping[str, Any]] = ()) -> LabelSchema:
    source = f"the output schema of the template {template.title}"
    if template.label_type == LabelType.LOCALIZATION:
        classes = tuple(dict.fromkeys(c for f in template.output_schema for c in f.choices))
        if classes:
            return LabelSchema(template.label_type, FormKind.BOXES, box_classes=classes, source=source, template_id=template.id)
        return LabelSchema(
            template.label_type, FormKind.BOXES, box_classes=_seen_box_classes(observed), closed_choices=False,
            source=f"{source}, with classes seen in this sheet's labels", template_id=template.id,
        )
    return LabelSchema(template.label_type, FormKind.FIELDS, template.output_schema, source=source, template_id=template.id)


def built_in_schema(label_type: str, observed: Sequence[Mapping[str, Any]] = ()) -> LabelSchema:
    if label_type in TEXT_LABEL_TYPES:
        return LabelSchema(label_type, FormKind.TEXT, (SchemaField(TEXT_KEY, FieldType.STRING),), source="a free-text answer")
    if label_type == LabelType.LOCALIZATION:
        return LabelSchema(
            label_type, FormKind.BOXES, box_classes=_seen_box_classes(observed), closed_choices=False,
            source="bounding boxes, with classes seen in this sheet's labels",
        )
    fields = _observed_fields(observed)
    if fields:
        return LabelSchema(label_type, FormKind.FIELDS, fields, closed_choices=False, source="the fields of this sheet's existing labels")
    if label_type in (LabelType.CLASSIFICATION, LabelType.DOCUMENT_TYPE, LabelType.PASS_FAIL, LabelType.ROOT_CAUSE):
        name = "label" if label_type == LabelType.CLASSIFICATION else str(label_type)
        return LabelSchema(label_type, FormKind.FIELDS, (SchemaField(name, FieldType.STRING),), closed_choices=False, source="free text")
    return LabelSchema(label_type, FormKind.JSON, source="a JSON object (publish a template of this type for a form)")


def _observed_fields(observed: Sequence[Mapping[str, Any]]) -> tuple[SchemaField, ...]:
    values: dict[str, list[Any]] = {}
    for data in observed:
        for name, value in data.items():
            values.setdefault(name, []).append(value)
    fields = []
    for name, seen in values.items():
        kind = _common_type(seen)
        distinct = sorted({str(v) for v in seen if isinstance(v, str)})
        # A category repeats; values that are mostly unique (names, ids, summaries) are free text.
        categorical = len(distinct) <= min(MAX_SUGGESTED_CHOICES, max(2, len(seen) // 2))
        choices = tuple(distinct) if kind is FieldType.STRING and categorical else ()
        fields.append(SchemaField(name, kind, required=len(seen) == len(observed), choices=choices))
    return tuple(fields)


def _common_type(values: list[Any]) -> FieldType:
    kinds = {_json_type(v) for v in values if v is not None}
    if kinds == {FieldType.INTEGER}:
        return FieldType.INTEGER
    if kinds and kinds <= {FieldType.INTEGER, FieldType.NUMBER}:
        return FieldType.NUMBER
    return kinds.pop() if len(kinds) == 1 else FieldType.STRING


def _seen_box_classes(observed: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(sorted({str(b.get("label")) for d in observed for b in d.get(BOXES_KEY) or () if isinstance(b, dict) and b.get("label")}))


# -- from a form to label data ---------------------------------------------------------------
def label_data_from_form(schema: LabelSchema, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The label data a form's raw values stand for, typed by the schema; empty inputs are left out.

    Raises ValidationError naming every value that cannot be read (a number that is not one, bad JSON).
    """
    if schema.kind is FormKind.JSON:
        return _json_object(str(raw.get("json") or ""))
    if schema.kind is FormKind.BOXES:
        return {BOXES_KEY: [dict(b) for b in raw.get(BOXES_KEY) or ()]}
    data: dict[str, Any] = {}
    problems = []
    for field in schema.fields:
        try:
            value = _typed(field, raw.get(field.name))
        except ValueError as error:
            problems.append(str(error))
            continue
        if value is not None:
            data[field.name] = value
    if problems:
        raise ValidationError(" ".join(problems))
    return data


def _typed(field: SchemaField, value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field.type is FieldType.STRING:
        return str(value).strip()
    if field.type is FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        raise ValueError(f"'{field.name}' must be true or false, got '{value}'.")
    if field.type in (FieldType.INTEGER, FieldType.NUMBER):
        return _number(field, value)
    if field.type is FieldType.ARRAY:
        if isinstance(value, list | tuple):
            return [v.strip() if isinstance(v, str) else v for v in value if not (isinstance(v, str) and not v.strip())]
        text = str(value).strip()
        if text.startswith("["):
            parsed = _json(field.name, text)
            if not isinstance(parsed, list):
                raise ValueError(f"'{field.name}' must be a list.")
            return parsed
        return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, dict):
        return value
    parsed = _json(field.name, str(value))
    if not isinstance(parsed, dict):
        raise ValueError(f"'{field.name}' must be a JSON object.")
    return parsed


def _number(field: SchemaField, value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"'{field.name}' must be a number, got '{value}'.")
    if isinstance(value, int | float):
        number, whole = float(value), isinstance(value, int)
    else:
        text = str(value).strip().replace(",", "").removeprefix("$")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"'{field.name}' must be a number, got '{value}'.") from None
        whole = number.is_integer() and "." not in text and "e" not in text.lower()
    if not math.isfinite(number):
        raise ValueError(f"'{field.name}' must be a finite number, got '{value}'.")
    if field.type is FieldType.INTEGER:
        if not number.is_integer():
            raise ValueError(f"'{field.name}' must be a whole number, got '{value}'.")
        return int(number)
    return int(number) if whole else number


def _json(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"'{name}' is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}).") from None


def _json_object(text: str) -> dict[str, Any]:
    if not text.strip():
        raise ValidationError("Write the label as a JSON object, for example {\"answer\": \"…\"}.")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError(f"The label is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.") from None
    if not isinstance(value, dict):
        raise ValidationError("The label must be a JSON object ({…}), not a list or a single value.")
    return value


# -- checking label data against its schema -------------------------------------------------
def label_problems(schema: LabelSchema, data: Any, image: ImageSize | None = None) -> list[str]:
    """Everything wrong with `data` as a label of this schema (empty when it may be saved)."""
    if not isinstance(data, dict):
        return ["A label must be a JSON object."]
    if not data:
        return ["The label is empty: give at least one value."]
    if schema.kind is FormKind.BOXES:
        return _box_problems(schema, data, image)
    if schema.kind is FormKind.JSON:
        return []
    problems = [p for field in schema.fields for p in _field_problems(schema, field, data)]
    if schema.closed_choices and schema.fields:
        unknown = [name for name in data if schema.field(name) is None]
        if unknown:
            names = ", ".join(f"'{n}'" for n in unknown)
            problems.append(f"Unknown {schema.noun}(s) {names}; the schema has {', '.join(f.name for f in schema.fields)}.")
    return problems


def check_label(schema: LabelSchema, data: Any, image: ImageSize | None = None) -> dict[str, Any]:
    problems = label_problems(schema, data, image)
    if problems:
        raise ValidationError(" ".join(problems))
    return data


def _field_problems(schema: LabelSchema, field: SchemaField, data: dict[str, Any]) -> list[str]:
    value = data.get(field.name)
    if value is None or (isinstance(value, str | list) and not value):
        return [f"Missing required {schema.noun} '{field.name}'."] if field.required else []
    if _json_type(value) is not field.type and not (field.type is FieldType.NUMBER and _json_type(value) is FieldType.INTEGER):
        return [f"'{field.name}' should be {_article(field.type)}, got {json.dumps(value, ensure_ascii=False)[:60]}."]
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        return [f"'{field.name}' is longer than {MAX_TEXT_CHARS:,} characters."]
    if field.choices and schema.closed_choices:
        picked = value if isinstance(value, list) else [value]
        outside = [str(v) for v in picked if str(v) not in field.choices]
        if outside:
            return [f"'{field.name}' has {', '.join(repr(v) for v in outside)}; allowed: {', '.join(field.choices)}."]
    return []


def _box_problems(schema: LabelSchema, data: dict[str, Any], image: ImageSize | None) -> list[str]:
    boxes = data.get(BOXES_KEY)
    if not isinstance(boxes, list):
        return [f"A localization label is {{\"{BOXES_KEY}\": [...]}}: a list of boxes."]
    if len(boxes) > MAX_BOXES:
        return [f"{len(boxes):,} boxes is more than the {MAX_BOXES} a label may hold."]
    problems = []
    extra = [k for k in data if k != BOXES_KEY]
    if extra:
        problems.append(f"A localization label holds only '{BOXES_KEY}'; remove {', '.join(repr(k) for k in extra)}.")
    for number, box in enumerate(boxes, start=1):
        problems += [f"Box {number}: {p}" for p in _one_box_problems(schema, box, image)]
    return problems


def _one_box_problems(schema: LabelSchema, box: Any, image: ImageSize | None) -> list[str]:
    if not isinstance(box, dict):
        return ["must be an object with x_min, y_min, x_max, y_max and label."]
    missing = [c for c in (*BOX_COORDINATES, "label") if box.get(c) is None or box.get(c) == ""]
    if missing:
        return [f"missing {', '.join(missing)}."]
    if any(_json_type(box[c]) not in (FieldType.INTEGER, FieldType.NUMBER) for c in BOX_COORDINATES):
        return ["coordinates must be numbers of pixels."]
    x_min, y_min, x_max, y_max = (float(box[c]) for c in BOX_COORDINATES)
    if not all(math.isfinite(v) for v in (x_min, y_min, x_max, y_max)):
        return ["coordinates must be finite numbers."]
    problems = []
    if x_min >= x_max or y_min >= y_max:
        problems.append("x_min must be less than x_max and y_min less than y_max.")
    if min(x_min, y_min) < 0:
        problems.append("coordinates cannot be negative.")
    if image is not None and (x_max > image.width or y_max > image.height):
        problems.append(f"reaches outside the {image.width}×{image.height} image.")
    label = str(box["label"])
    if schema.closed_choices and schema.box_classes and label not in schema.box_classes:
        problems.append(f"class '{label}' is not one of {', '.join(schema.box_classes)}.")
    return problems


def _json_type(value: Any) -> FieldType:
    if isinstance(value, bool):
        return FieldType.BOOLEAN
    if isinstance(value, int):
        return FieldType.INTEGER
    if isinstance(value, float):
        return FieldType.NUMBER
    if isinstance(value, str):
        return FieldType.STRING
    return FieldType.ARRAY if isinstance(value, list) else FieldType.OBJECT


def _article(kind: FieldType) -> str:
    return {"integer": "a whole number", "array": "a list", "object": "an object", "boolean": "true or false"}.get(kind.value, f"a {kind.value}")
