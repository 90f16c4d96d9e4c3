"""A Prompt Template: a versioned, publishable definition of how to ask a model for one task.

Templates live in families: every version of one template shares a `family_id`, and a
published version never changes again; editing it makes the next version as a new draft.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


class LabelType(StrEnum):
    """The task types the spec names. A template may use another snake_case type: the list is open."""

    ENTITY_EXTRACTION = "entity_extraction"
    CLASSIFICATION = "classification"
    LOCALIZATION = "localization"
    QA = "qa"
    GENERATION = "generation"
    SUMMARIZATION = "summarization"
    DOCUMENT_TYPE = "document_type"
    ROOT_CAUSE = "root_cause"
    PASS_FAIL = "pass_fail"


# Custom label types travel into canonical-label keys and file names, so they stay plain.
_LABEL_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")


def is_valid_label_type(value: str) -> bool:
    return bool(_LABEL_TYPE.match(value))


class TemplateStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class FieldType(StrEnum):
    """JSON types, so an output schema can be checked against what a model returns."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"


@dataclass(frozen=True)
class SchemaField:
    """One field of a template's input or output schema."""

    name: str
    type: FieldType = FieldType.STRING
    description: str = ""
    required: bool = True
    choices: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type.value, "required": self.required}
        if self.description:
            data["description"] = self.description
        if self.choices:
            data["choices"] = list(self.choices)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchemaField:
        return cls(
            name=str(data["name"]),
            type=FieldType(data.get("type", FieldType.STRING.value)),
            description=str(data.get("description") or ""),
            required=bool(data.get("required", True)),
            choices=tuple(str(c) for c in data.get("choices") or ()),
        )

    def describe(self) -> str:
        """One line per field, the form version diffs and details show."""
        flags = "required" if self.required else "optional"
        choices = f" one of [{', '.join(self.choices)}]" if self.choices else ""
        about = f" — {self.description}" if self.description else ""
        return f"{self.name}: {self.type.value} ({flags}){choices}{about}"


@dataclass(frozen=True)
class FewShotExample:
    """A demonstration: the values the user prompt is rendered with, and the answer wanted."""

    input: dict[str, Any]
    output: str

    def to_json(self) -> dict[str, Any]:
        return {"input": self.input, "output": self.output}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FewShotExample:
        return cls(dict(data.get("input") or {}), str(data.get("output") or ""))


def schema_to_json(fields: tuple[SchemaField, ...]) -> str:
    return json.dumps([f.to_json() for f in fields])


def schema_from_json(text: str | None) -> tuple[SchemaField, ...]:
    return tuple(SchemaField.from_json(item) for item in json.loads(text or "[]"))


def examples_to_json(examples: tuple[FewShotExample, ...]) -> str:
    return json.dumps([e.to_json() for e in examples], default=str)


def examples_from_json(text: str | None) -> tuple[FewShotExample, ...]:
    return tuple(FewShotExample.from_json(item) for item in json.loads(text or "[]"))


DEFAULT_TEMPERATURE = 0.0  # labeling wants repeatable answers
DEFAULT_MAX_TOKENS = 1024


@dataclass(frozen=True)
class TemplateDraft:
    """What a person fills in to create or edit a template.

    The system prompt is sent as written; only the user prompt is a Jinja2 template over
    an item's columns, so data from a row can never rewrite the model's instructions.
    """

    name: str
    label_type: str
    description: str = ""
    system_prompt: str = ""
    user_prompt_template: str = ""
    input_schema: tuple[SchemaField, ...] = ()
    output_schema: tuple[SchemaField, ...] = ()
    base_model: str = ""
    temperature: float = DEFAULT_TEMPERATURE
    max_tokens: int = DEFAULT_MAX_TOKENS
    examples: tuple[FewShotExample, ...] = ()
    source_sheet_id: str | None = None
    # Dynamic few-shot: this many Example Store examples of the template's label type, nearest
    # each item, go after the fixed examples at run time (0: the fixed examples only).
    retrieved_examples_k: int = 0


Bump = Literal["major", "minor", "patch"]
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)\Z")


@dataclass(frozen=True, order=True)
class SemVer:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> SemVer:
        match = _SEMVER.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a semantic version (major.minor.patch).")
        return cls(*(int(part) for part in match.groups()))

    def bumped(self, bump: Bump) -> SemVer:
        if bump == "major":
            return SemVer(self.major + 1, 0, 0)
        if bump == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        if bump == "patch":
            return SemVer(self.major, self.minor, self.patch + 1)
        raise ValueError(f"Unknown version bump {bump!r}; use major, minor or patch.")

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


FIRST_VERSION = "1.0.0"


@dataclass(frozen=True)
class Template(TemplateDraft):
    id: str = ""
    family_id: str = ""
    version: str = FIRST_VERSION
    status: TemplateStatus = TemplateStatus.DRAFT
    created_by: str = ""
    created_at: datetime | None = None
    updated_by: str = ""
    updated_at: datetime | None = None
    published_at: datetime | None = None
    row_version: int = 1

    @property
    def is_draft(self) -> bool:
        return self.status is TemplateStatus.DRAFT

    @property
    def semver(self) -> SemVer:
        return SemVer.parse(self.version)

    @property
    def title(self) -> str:
        return f"{self.name} v{self.version}"

    def as_draft(self) -> TemplateDraft:
        return TemplateDraft(
            name=self.name,
            label_type=self.label_type,
            description=self.description,
            system_prompt=self.system_prompt,
            user_prompt_template=self.user_prompt_template,
            input_schema=self.input_schema,
            output_schema=self.output_schema,
            base_model=self.base_model,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            examples=self.examples,
            source_sheet_id=self.source_sheet_id,
            retrieved_examples_k=self.retrieved_examples_k,
        )
