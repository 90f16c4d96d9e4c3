"""Prompt Templates: a library of versioned prompts, drafted, tested on a sheet, and published.

A published version never changes: editing it makes the next version, a new draft in the same
family. Every draft is checked before it is written (names, schema, the prompt compiles in the
sandbox, its placeholders are columns of the chosen sheet); publishing checks more.
"""

from __future__ import annotations

import difflib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from data_access.llm.chat import ChatMessage, ChatModel, ChatRequest, ImagePart, ModelError, TextPart
from data_access.sql.engine import SqlError
from data_access.sql.names import InvalidNameError, check_column_name
from services.core.domain.sheet import Sheet
from services.core.domain.template import (
    FIRST_VERSION,
    Bump,
    FieldType,
    LabelType,
    SchemaField,
    Template,
    TemplateDraft,
    TemplateStatus,
    is_valid_label_type,
)
from services.core.errors import NotFoundError, StaleWriteError, UnavailableError, ValidationError
from services.core.workbench import Workbench
from services.data.sheet_items import MediaRef
from services.data.sheets import SheetService
from services.data.source_previews import PreviewError, image_for_model
from services.templates.output_parsing import ParsedOutput, parse_output
from services.templates.rendering import (
    RESERVED_NAMES,
    RenderedMessage,
    check_placeholders,
    compile_template,
    item_values,
    render_messages,
)
from services.templates.templates_store import TemplateFilter, TemplatesStore

MAX_NAME_LENGTH = 120
MAX_TEMPERATURE = 2.0  # the upper bound OpenAI-compatible and Databricks endpoints accept
MAX_TOKENS_LIMIT = 32_768  # beyond what served models write per answer: a larger value is a typo
MAX_EXAMPLES = 20  # few-shot beyond this crowds the context; the Example Store retrieves instead
MAX_RETRIEVED_EXAMPLES = 10  # retrieved per item, beside the fixed ones: more would crowd the item's context
MAX_TEST_ROWS = 20  # a test is a glance at a few items; whole sheets go through generation jobs
TEST_TIMEOUT_S = 60.0  # one attempt per item: a test shows what the model does, it does not retry
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # what vision endpoints accept per image
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}\Z")  # output fields: the keys of the model's JSON answer


@dataclass(frozen=True)
class FieldDiff:
    field: str
    diff: str  # unified diff, older version first


@dataclass(frozen=True)
class TemplateTestResult:
    item_ref: str
    messages: tuple[RenderedMessage, ...]
    media: tuple[str, ...] = ()
    error: str | None = None  # the prompt could not be rendered for this item
    raw_output: str | None = None
    parsed: ParsedOutput | None = None
    model_error: str | None = None
    few_shot_example_ids: tuple[str, ...] = ()  # Example Store examples retrieved into the prompt


# Completes an item's rendered messages with retrieved examples (the Example Store's dynamic
# few-shot, which stands above this stage and so is passed in); returns them and the examples' ids.
FewShotFiller = Callable[[tuple[RenderedMessage, ...]], tuple[tuple[RenderedMessage, ...], tuple[str, ...]]]


class TemplateService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._store = TemplatesStore(workbench.backend.engine, workbench.table("templates"))
        self._sheets = SheetService(workbench)

    # -- reading ---------------------------------------------------------------------
    def list(
        self,
        search: str = "",
        status: TemplateStatus | None = None,
        label_type: str | None = None,
        all_versions: bool = False,
    ) -> list[Template]:
        """The newest matching version of each template (every version with `all_versions`)."""
        return self._store.list(TemplateFilter(search, status, label_type, all_versions))

    def get(self, template_id: str) -> Template:
        template = self._store.get(template_id)
        if template is None:
            raise NotFoundError(f"Template {template_id} does not exist.")
        return template

    def find(self, template_id: str | None) -> Template | None:
        return self._store.get(template_id) if template_id else None

    def versions(self, family_id: str) -> list[Template]:
        """Every version of one template, newest first."""
        return self._store.versions(family_id)

    def count(self) -> int:
        return self._store.count()

    def label_types(self) -> list[str]:
        """The spec's label types, then any other type a template already uses."""
        known = [t.value for t in LabelType]
        return known + [t for t in self._store.label_types() if t not in known]

    def sheet_columns(self, sheet_id: str) -> list[str]:
        """The names an item of the sheet offers a template: its columns, joined ones included."""
        return self._columns(self._sheets.get(sheet_id))

    def _columns(self, sheet: Sheet) -> list[str]:
        # The items query with no rows: its columns are exactly the fields an item carries.
        query = self._sheets.check_for_reading(sheet).query
        try:
            frame = self._wb.backend.engine.query_df(query.select_sql, {**query.params, "page_size": 0, "page_offset": 0})
        except SqlError as error:
            raise ValidationError(f"The sheet '{sheet.name}' could not be read: {error}", "source_sheet_id") from error
        return [str(c) for c in frame.columns]

    # -- checking --------------------------------------------------------------------
    def check(self, draft: TemplateDraft, family_id: str | None = None) -> TemplateDraft:
        """The normalised draft, or ValidationError naming the field to fix; nothing is written."""
        draft = _normalised(draft)
        _check_name(draft.name)
        if self._store.name_taken(draft.name, family_id):
            raise ValidationError(f"A template named '{draft.name}' already exists.", "name")
        if not is_valid_label_type(draft.label_type):
            raise ValidationError(
                "The label type must be lowercase letters, digits and underscores (for example classification).",
                "label_type",
            )
        if not 0.0 <= draft.temperature <= MAX_TEMPERATURE:
            raise ValidationError(f"Temperature must be between 0 and {MAX_TEMPERATURE:g}.", "temperature")
        if not 1 <= draft.max_tokens <= MAX_TOKENS_LIMIT:
            raise ValidationError(f"Max tokens must be between 1 and {MAX_TOKENS_LIMIT:,}.", "max_tokens")
        _check_schema(draft.input_schema, "input_schema")
        _check_schema(draft.output_schema, "output_schema")
        if len(draft.examples) > MAX_EXAMPLES:
            raise ValidationError(f"Use at most {MAX_EXAMPLES} few-shot examples.", "examples")
        if not 0 <= draft.retrieved_examples_k <= MAX_RETRIEVED_EXAMPLES:
            raise ValidationError(f"Retrieve between 0 and {MAX_RETRIEVED_EXAMPLES} examples per item.", "retrieved_examples_k")
        compile_template(draft.user_prompt_template, "user_prompt_template")
        if draft.source_sheet_id:
            sheet = self._source_sheet(draft.source_sheet_id)
            check_placeholders(draft.user_prompt_template, self._columns(sheet))
        _check_examples(draft)
        return draft

    def check_for_publishing(self, draft: TemplateDraft) -> None:
        """What a published version promises: a prompt and an output schema that work together."""
        if not draft.user_prompt_template.strip():
            raise ValidationError("Write the user prompt before publishing.", "user_prompt_template")
        if not draft.output_schema:
            raise ValidationError("Define at least one output field before publishing.", "output_schema")
        used = compile_template(draft.user_prompt_template, "user_prompt_template").placeholders
        if draft.input_schema:
            undeclared = sorted(used - {f.name for f in draft.input_schema} - RESERVED_NAMES)
            if undeclared:
                names = ", ".join(f"'{n}'" for n in undeclared)
                raise ValidationError(f"The prompt uses {names}, missing from the input schema.", "input_schema")
        for number, example in enumerate(draft.examples, start=1):
            parsed = parse_output(example.output, draft.output_schema)
            if not parsed.ok:
                raise ValidationError(
                    f"Few-shot example {number}'s output does not match the output schema: {' '.join(parsed.errors)}",
                    "examples",
                )

    def _source_sheet(self, sheet_id: str) -> Sheet:
        try:
            return self._sheets.get(sheet_id)
        except NotFoundError as error:
            raise ValidationError("The template's source sheet no longer exists; choose another.", "source_sheet_id") from error

    def _source_table(self, draft: TemplateDraft) -> str | None:
        sheet = self._sheet_or_none(draft.source_sheet_id)
        return sheet.primary_table if sheet else None

    def _sheet_or_none(self, sheet_id: str | None) -> Sheet | None:
        if not sheet_id:
            return None
        try:
            return self._sheets.get(sheet_id)
        except NotFoundError:
            return None

    # -- writing ---------------------------------------------------------------------
    def create(self, draft: TemplateDraft) -> Template:
        """A new template: version 1.0.0, a draft."""
        draft = self.check(draft)
        template_id = str(uuid.uuid4())
        self._store.insert(template_id, template_id, FIRST_VERSION, draft, self._source_table(draft), self._wb.user.email)
        return self.get(template_id)

    def update(self, template: Template, draft: TemplateDraft) -> Template:
        """Save a draft's edits; `template` is the version the editor read."""
        current = self.get(template.id)
        _require_editable(current)
        draft = self.check(draft, current.family_id)
        written = self._store.update_draft(
            template.id, draft, self._source_table(draft), self._wb.user.email, template.row_version
        )
        if not written:
            raise self._stale(template)
        return self.get(template.id)

    def publish(self, template: Template) -> Template:
        current = self.get(template.id)
        if current.status is not TemplateStatus.DRAFT:
            raise ValidationError(f"{current.title} is {current.status.value}; only a draft can be published.")
        draft = self.check(current.as_draft(), current.family_id)
        self.check_for_publishing(draft)
        return self._set_status(template, TemplateStatus.PUBLISHED)

    def archive(self, template: Template) -> Template:
        current = self.get(template.id)
        if current.status is TemplateStatus.ARCHIVED:
            raise ValidationError(f"{current.title} is already archived.")
        return self._set_status(template, TemplateStatus.ARCHIVED)

    def _set_status(self, template: Template, status: TemplateStatus) -> Template:
        if not self._store.set_status(template.id, status, self._wb.user.email, template.row_version):
            raise self._stale(template)
        return self.get(template.id)

    def duplicate(self, template: Template) -> Template:
        """A new template (its own family, version 1.0.0, a draft) with the same content."""
        source = self.get(template.id)
        taken = self._store.names()
        name, copy = f"{source.name} (copy)", 2
        while name.lower() in taken:
            name, copy = f"{source.name} (copy {copy})", copy + 1
        draft = replace(source.as_draft(), name=name[:MAX_NAME_LENGTH])
        template_id = str(uuid.uuid4())
        self._store.insert(template_id, template_id, FIRST_VERSION, draft, self._source_table(draft), self._wb.user.email)
        return self.get(template_id)

    def new_version_from(self, template: Template, bump: Bump = "minor") -> Template:
        """'Edit a published template': the next version of its family, as a draft with its content."""
        source = self.get(template.id)
        if source.status is TemplateStatus.DRAFT:
            raise ValidationError(f"{source.title} is still a draft: edit it directly.")
        family = self.versions(source.family_id)
        open_draft = next((v for v in family if v.status is TemplateStatus.DRAFT), None)
        if open_draft is not None:
            raise ValidationError(f"{open_draft.title} is already an open draft of this template: edit or archive it first.")
        try:
            newest = max(v.semver for v in family)
            version = str(newest.bumped(bump))
        except ValueError as error:
            raise ValidationError(str(error)) from error
        draft = source.as_draft()
        template_id = str(uuid.uuid4())
        self._store.insert(template_id, source.family_id, version, draft, self._source_table(draft), self._wb.user.email)
        return self.get(template_id)

    def _stale(self, template: Template) -> StaleWriteError | NotFoundError:
        latest = self._store.get(template.id)
        if latest is None:
            return NotFoundError(f"{template.title} was deleted after you opened it; your change was not saved.")
        return StaleWriteError(
            f"{latest.updated_by or 'Someone'} changed {template.title} after you opened it "
            f"(it is now {latest.status.value}, revision {latest.row_version}). "
            "Reload to see their change; yours was not saved."
        )

    # -- comparing -------------------------------------------------------------------
    def diff(self, older: Template, newer: Template) -> list[FieldDiff]:
        return diff_templates(older, newer)

    # -- testing ---------------------------------------------------------------------
    def test_on_sheet(
        self, template: TemplateDraft, sheet_id: str, n_rows: int = 3, model: ChatModel | None = None,
        few_shot: FewShotFiller | None = None,
    ) -> list[TemplateTestResult]:
        """Render the messages for the sheet's first items and, with a model, its answers parsed.

        Images joined to an item go to the model with its prompt; other files are named only.
        `few_shot` adds the examples a template retrieves per item, as generation does.
        """
        sheet = self._sheets.get(sheet_id)
        check_placeholders(template.user_prompt_template, self._columns(sheet))
        page = self._sheets.items(sheet, 0, max(1, min(n_rows, MAX_TEST_ROWS)))
        results = []
        for item in page.items:
            media = tuple(m.path for m in item.media)
            try:
                messages, example_ids = render_messages(template, item_values(item.item_ref, item.fields, media)), ()
                if few_shot is not None:
                    messages, example_ids = few_shot(messages)
            except (ValidationError, UnavailableError) as error:
                results.append(TemplateTestResult(item.item_ref, (), media, error=str(error)))
                continue
            result = TemplateTestResult(item.item_ref, messages, media, few_shot_example_ids=example_ids)
            if model is not None:
                result = self._ask(model, template, result)
            results.append(result)
        return results

    def _ask(self, model: ChatModel, template: TemplateDraft, result: TemplateTestResult) -> TemplateTestResult:
        try:
            request = ChatRequest(
                _chat_messages(result.messages, self._images(result.media)),
                template.base_model,
                template.temperature,
                template.max_tokens,
                request_id=result.item_ref,
            )
            reply = model.complete(request, timeout_s=TEST_TIMEOUT_S)
        except (ModelError, PreviewError, ValueError) as error:  # PreviewError: an image that cannot be sent
            return replace(result, model_error=str(error) or type(error).__name__)
        if reply.text is None:
            return replace(result, model_error=reply.error or "The model returned no text.")
        return replace(result, raw_output=reply.text, parsed=parse_output(reply.text, template.output_schema))

    def _images(self, media: tuple[str, ...]) -> tuple[ImagePart, ...]:
        return tuple(image_for_model(self._wb, path, MAX_IMAGE_BYTES) for path in media if MediaRef(path).kind == "image")


def _chat_messages(messages: tuple[RenderedMessage, ...], images: tuple[ImagePart, ...]) -> tuple[ChatMessage, ...]:
    """The rendered messages, with the item's images beside the last (the item's own) prompt."""
    chat = [ChatMessage(m.role, m.content) for m in messages]
    if images:
        chat[-1] = ChatMessage(chat[-1].role, (TextPart(messages[-1].content), *images))
    return tuple(chat)


def _require_editable(template: Template) -> None:
    if template.status is TemplateStatus.PUBLISHED:
        raise ValidationError("Published templates are immutable; use 'Edit as new version'.")
    if template.status is TemplateStatus.ARCHIVED:
        raise ValidationError("Archived templates are immutable; use 'Edit as new version' or 'Duplicate'.")


def _normalised(draft: TemplateDraft) -> TemplateDraft:
    return replace(
        draft,
        name=draft.name.strip(),
        description=draft.description.strip(),
        label_type=draft.label_type.strip().lower(),
        base_model=draft.base_model.strip(),
        source_sheet_id=(draft.source_sheet_id or "").strip() or None,
        input_schema=tuple(replace(f, name=f.name.strip(), description=f.description.strip()) for f in draft.input_schema),
        output_schema=tuple(replace(f, name=f.name.strip(), description=f.description.strip()) for f in draft.output_schema),
    )


def _check_name(name: str) -> None:
    if not name:
        raise ValidationError("Give the template a name.", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"The name is longer than {MAX_NAME_LENGTH} characters.", "name")


def _check_schema(fields: tuple[SchemaField, ...], where: str) -> None:
    what = "input" if where == "input_schema" else "output"
    seen: set[str] = set()
    for field in fields:
        if where == "input_schema":
            _check_input_name(field.name)
        elif not _FIELD_NAME.match(field.name):
            raise ValidationError(
                f"The {what} field name '{field.name}' must be letters, digits and underscores, starting with a letter.",
                where,
            )
        if field.name.lower() in seen:
            raise ValidationError(f"The {what} schema names '{field.name}' twice.", where)
        seen.add(field.name.lower())
        if field.choices and field.type not in (FieldType.STRING, FieldType.ARRAY):
            raise ValidationError(f"Choices apply to string or array fields; '{field.name}' is {field.type.value}.", where)


def _check_input_name(name: str) -> None:
    """Input fields are the columns a prompt reads, named as the table names them (`state code` too)."""
    try:
        check_column_name(name, "The input field")
    except InvalidNameError as error:
        raise ValidationError(str(error), "input_schema") from error


def _check_examples(draft: TemplateDraft) -> None:
    """Each few-shot example must render: it supplies every placeholder the prompt reads."""
    prompt = compile_template(draft.user_prompt_template, "user_prompt_template")
    for number, example in enumerate(draft.examples, start=1):
        if not example.output.strip():
            raise ValidationError(f"Few-shot example {number} has no output.", "examples")
        try:
            prompt.render(example.input)
        except ValidationError as error:
            raise ValidationError(f"Few-shot example {number}: {error}", "examples") from None


_DIFFED_FIELDS = (
    "name", "description", "label_type", "system_prompt", "user_prompt_template", "input_schema",
    "output_schema", "base_model", "temperature", "max_tokens", "examples", "source_sheet_id", "retrieved_examples_k",
)


def _field_text(template: TemplateDraft, field: str) -> str:
    value = getattr(template, field)
    if field in ("input_schema", "output_schema"):
        return "\n".join(f.describe() for f in value)
    if field == "examples":
        return json.dumps([e.to_json() for e in value], indent=2, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


def diff_templates(older: Template, newer: Template) -> list[FieldDiff]:
    """The fields that differ, each as a unified diff from the older version to the newer."""
    diffs = []
    for field in _DIFFED_FIELDS:
        before, after = _field_text(older, field), _field_text(newer, field)
        if before == after:
            continue
        lines = difflib.unified_diff(
            before.splitlines(), after.splitlines(), f"v{older.version}", f"v{newer.version}", lineterm=""
        )
        diffs.append(FieldDiff(field, "\n".join(lines)))
    return diffs
