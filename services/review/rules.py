"""What a review accepts: a response that fits the Training Sheet's template, and a short note."""

from __future__ import annotations

import json
import threading
from typing import Any

from services.core.domain.canonical_label import label_data_from_response
from services.core.domain.qa_pair import Message, messages_from_json
from services.core.domain.template import FieldType, Template
from services.core.errors import NotFoundError, ValidationError
from services.core.workbench import Workbench
from services.generate.training_sheets_store import TrainingSheetsStore
from services.templates.output_parsing import parse_output
from services.templates.prompt_templates import TemplateService

# Label types whose answer is prose: a one-text-field schema takes any text as the answer.
FREE_TEXT_LABEL_TYPES = frozenset({"qa", "generation", "summarization"})
MAX_NOTE_LENGTH = 2000
NEW_LABEL_REASON = "New canonical label from an approved pair"  # the audit row of a label a review creates
_TEMPLATE_CACHE_ENTRIES = 256

# A Training Sheet's template never changes (published versions are immutable), so each
# process looks it up once per Training Sheet and user instead of on every review action.
# Keyed by the user too (email and token digest): a template's few-shot examples may hold PHI,
# and only the warehouse, asked with that user's credentials, decides who may read it.
_templates: dict[tuple[str, str, str], Template] = {}
_templates_lock = threading.Lock()


def template_of(workbench: Workbench, training_sheet_id: str) -> Template:
    settings = workbench.settings
    key = (settings.warehouse_id if settings.is_databricks else str(settings.home), workbench.user.cache_key, training_sheet_id)
    with _templates_lock:
        cached = _templates.get(key)
    if cached is not None:
        return cached
    store = TrainingSheetsStore(workbench.backend.engine, workbench.table("training_sheets"), workbench.table("qa_pairs"))
    training_sheet = store.get(training_sheet_id)
    if training_sheet is None:
        raise NotFoundError("That Training Sheet does not exist.")
    template = TemplateService(workbench).get(training_sheet.template_id)
    with _templates_lock:
        if len(_templates) >= _TEMPLATE_CACHE_ENTRIES:
            _templates.clear()
        _templates[key] = template
    return template


def is_free_text(template: Template) -> bool:
    schema = template.output_schema
    return template.label_type in FREE_TEXT_LABEL_TYPES and len(schema) == 1 and schema[0].type is FieldType.STRING


def label_data_for(response: str, template: Template) -> dict[str, Any]:
    """The canonical label a response stands for, or ValidationError saying what is wrong with it.

    A structured answer must parse against the template's output schema, and the label is the
    parsed object (so a fenced or prose-wrapped answer still yields clean label data). A
    free-text answer is taken as written.
    """
    text = response.strip()
    if not text:
        raise ValidationError("The response is empty; write the answer before approving.", "response")
    if not template.output_schema or is_free_text(template):
        return label_data_from_response(text)
    if text[0] in "{[":
        try:
            json.loads(text)
        except json.JSONDecodeError as error:
            raise ValidationError(
                f"The response is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).", "response"
            ) from None
    parsed = parse_output(text, template.output_schema)
    if not parsed.ok or parsed.value is None:
        raise ValidationError(f"The response does not match the output schema of {template.title}: {' '.join(parsed.errors)}", "response")
    return parsed.value


def new_label_reason(constraints_reason: str) -> str:
    return f"{NEW_LABEL_REASON}: {constraints_reason}" if constraints_reason.strip() else NEW_LABEL_REASON


def checked_note(note: str | None, required: bool = False, what: str = "") -> str | None:
    text = (note or "").strip()
    if required and not text:
        raise ValidationError(f"Write a note saying why you {what}; the next reviewer reads it.", "note")
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationError(f"Keep the note under {MAX_NOTE_LENGTH:,} characters.", "note")
    return text or None


def with_response(messages: tuple[Message, ...], response: str) -> tuple[Message, ...]:
    """The messages with the final assistant message replaced (or added) by `response`."""
    if messages and messages[-1].role == "assistant":
        return (*messages[:-1], Message("assistant", response))
    return (*messages, Message("assistant", response))


def response_of(messages_json: str | None) -> str:
    """The final assistant message of stored messages (a pair's response)."""
    return next((m.content for m in reversed(messages_from_json(messages_json)) if m.role == "assistant"), "")
