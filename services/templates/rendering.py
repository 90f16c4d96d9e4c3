"""Rendering a template's messages for one item, safely and fast.

The user prompt is Jinja2 run in an immutable sandbox with strict undefined: an unknown
name is an error (not an empty string), a template cannot reach Python internals or mutate
the values it is given, the work of a render is bounded (sandbox.py: loops, value sizes,
output, time), and every error names the line it is on. Compiled templates are cached by
their text, so a generation run compiles once and renders many times.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from types import TracebackType
from typing import Any
from uuid import UUID

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.debug import rewrite_traceback_stack
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError

from services.core.domain.template import TemplateDraft
from services.core.errors import ValidationError
from services.templates.sandbox import (
    MAX_RENDERED_CHARS,
    PromptEnvironment,
    RenderLimitExceeded,
    end_render,
    require_printable,
    start_render,
)

# Names a template may use besides the sheet's columns: the item's reference, the paths of its
# joined files (images, PDFs) for prompts that point a multimodal model at them, and `row`: all
# of the item's columns by name, for names that are not Jinja names (`{{ row["state code"] }}`).
ROW = "row"
RESERVED_NAMES = frozenset({"item_ref", "media", ROW})

MAX_TEMPLATE_CHARS = 100_000  # a prompt template longer than this is data, not a template
_COMPILE_CACHE_SIZE = 1024  # distinct prompt texts alive at once; each entry is small

_TEMPLATE_FILENAME = "<template>"
# The output is counted every this many chunks: counting each one costs a fifth of a typical
# render, and a chunk is one value (bounded, or already in memory), so the overshoot is small.
_CHUNKS_PER_CHECK = 32


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<binary, {len(value)} bytes>"
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def json_friendly(value: Any) -> Any:
    """How a value reads in a prompt: text as is, everything else as its JSON text.

    Dates are ISO 8601 and decimals exact, so `{{ amount }}` shows `1250.00`, not `Decimal(...)`.
    """
    kind = type(value)
    if kind is str:  # the common case first: this runs for every `{{ … }}` of every render
        return value
    if kind is int or kind is float:
        return value
    if value is None or kind is bool:
        return json.dumps(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str | int | float):
        return value
    require_printable(value)  # a list of a million references to one long text would print as gigabytes
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    return _json_default(value)


_ENVIRONMENT = PromptEnvironment(
    undefined=StrictUndefined,
    autoescape=False,
    finalize=json_friendly,
    keep_trailing_newline=True,
)
_GLOBAL_NAMES = frozenset(_ENVIRONMENT.globals)


def _line(text: str, lineno: int | None) -> str:
    lines = text.splitlines()
    if lineno is None or not 1 <= lineno <= len(lines):
        return ""
    return lines[lineno - 1].strip()


def _located(message: str, text: str, lineno: int | None, field: str | None) -> ValidationError:
    if lineno is None:
        return ValidationError(message, field)
    source = _line(text, lineno)
    shown = f" — `{source[:120]}`" if source else ""
    return ValidationError(f"Line {lineno}: {message}{shown}", field)


def _template_lineno(traceback: TracebackType | None) -> int | None:
    # Jinja rewrites tracebacks so the template's own frames carry template line numbers.
    lineno = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _TEMPLATE_FILENAME:
            lineno = traceback.tb_lineno
        traceback = traceback.tb_next
    return lineno


def _reject_internals(tree: nodes.Template, text: str, field: str | None) -> None:
    """Refuse `x.__class__`, `x['__globals__']` and friends before anything runs."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise _located(
                f"'{name}' is not allowed: templates cannot reach Python internals.", text, node.lineno, field
            )


def _error_message(error: Exception) -> str:
    if isinstance(error, RenderLimitExceeded):
        return f"{error}."
    if isinstance(error, RecursionError):
        return "the template calls itself too deeply (a macro or loop that recurses without end)."
    if isinstance(error, UndefinedError):
        return f"{error.message}. Check the spelling, or that the sheet has this column."
    if isinstance(error, SecurityError):
        return f"{str(error).rstrip('.')}: templates run in a sandbox and cannot reach Python internals or change values."
    if isinstance(error, TemplateError):
        return error.message or type(error).__name__
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True, eq=False)
class CompiledTemplate:
    """A checked, compiled prompt template; render it as many times as needed."""

    text: str
    placeholders: frozenset[str]
    _render: Any  # the compiled root render function, or None for text without Jinja syntax
    _new_context: Any
    _template_line: Callable[[int], int]  # compiled code's line → template line
    field: str | None = None
    reads_row: bool = False  # the template reads `row`: the values are offered under that name too
    spends_budget: bool = True  # it loops, calls, filters or computes: its renders need a budget (sandbox.py)

    def render(self, values: Mapping[str, Any]) -> str:
        """The prompt for these values; ValidationError naming the line for any error or limit passed."""
        if self._render is None:
            return self.text
        if self.reads_row:
            values = {ROW: values, **values}  # a column named `row` keeps its own value
        if not self.spends_budget:
            return self._rendered(values)
        previous = start_render()
        try:
            return self._rendered(values)
        finally:
            end_render(previous)

    def _rendered(self, values: Mapping[str, Any]) -> str:
        try:
            # Template.render, minus its per-call argument juggling (this is the hot path), and
            # the output counted as it grows rather than once it is whole.
            chunks = self._render(self._new_context(values))
            parts = _output_within_limit(chunks)
            if parts is None:
                raise self._output_too_long(chunks)
        except ValidationError:
            raise
        except Exception:
            # As Template.render does: map the compiled code's frames back to template lines.
            error = rewrite_traceback_stack(source=self.text)
            raise _located(_error_message(error), self.text, _template_lineno(error.__traceback__), self.field) from None
        return "".join(parts)

    def _output_too_long(self, chunks: Generator[str, None, None]) -> ValidationError:
        message = f"the rendered prompt is past the limit of {MAX_RENDERED_CHARS:,} characters; check loops in the template."
        lineno = _suspended_lineno(chunks, self._template_line)
        chunks.close()
        return _located(message, self.text, lineno, self.field)


def _output_within_limit(chunks: Iterator[str]) -> list[str] | None:
    """The rendered chunks, counted every `_CHUNKS_PER_CHECK`; None once past the output limit
    (the render is left paused there, so its line can be named)."""
    parts = batch = list(islice(chunks, _CHUNKS_PER_CHECK))
    size = sum(map(len, parts))
    while len(batch) == _CHUNKS_PER_CHECK and size <= MAX_RENDERED_CHARS:
        batch = list(islice(chunks, _CHUNKS_PER_CHECK))
        size += sum(map(len, batch))
        parts += batch
    return parts if size <= MAX_RENDERED_CHARS else None


def _suspended_lineno(generator: Generator[str, None, None], template_line: Callable[[int], int]) -> int | None:
    """The template line a paused render is at: the innermost of its generators that is template code."""
    lineno = None
    current: Any = generator
    while current is not None and getattr(current, "gi_frame", None) is not None:
        if current.gi_frame.f_code.co_filename == _TEMPLATE_FILENAME:
            lineno = template_line(current.gi_frame.f_lineno)
        current = current.gi_yieldfrom
    return lineno


def _has_jinja_syntax(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


@lru_cache(maxsize=_COMPILE_CACHE_SIZE)
def compile_template(text: str, field: str | None = None) -> CompiledTemplate:
    """Parse, check and compile; raises ValidationError naming the line for any problem."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise ValidationError(f"The template is longer than {MAX_TEMPLATE_CHARS:,} characters.", field)
    if not _has_jinja_syntax(text):
        return CompiledTemplate(text, frozenset(), None, None, int, field)
    try:
        tree = _ENVIRONMENT.parse(text, filename=_TEMPLATE_FILENAME)
        _reject_internals(tree, text, field)
        names = frozenset(meta.find_undeclared_variables(tree)) - _GLOBAL_NAMES
        row_keys = _row_keys(tree) if ROW in names else frozenset()
        template = _ENVIRONMENT.from_string(tree)
        # Jinja keeps globals as a ChainMap over the environment's, and copying a ChainMap into
        # each render's context costs more than the render itself. Our globals never change.
        template.globals = dict(template.globals)
    except TemplateSyntaxError as error:
        raise _located(f"{error.message or 'syntax error'}", text, error.lineno, field) from None
    return CompiledTemplate(
        text, (names - {ROW}) | row_keys, template.root_render_func, template.new_context,
        template.get_corresponding_lineno, field, reads_row=ROW in names, spends_budget=_spends_budget(tree),
    )


# A template made only of these prints text and values: nothing in it can loop, call or compute,
# so it renders without a budget (the output is still counted). Most prompts are like this.
_PLAIN_NODES = (nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Getattr, nodes.Getitem)


def _spends_budget(tree: nodes.Template) -> bool:
    return any(not isinstance(node, _PLAIN_NODES) for node in tree.find_all(nodes.Node))


def _row_keys(tree: nodes.Template) -> frozenset[str]:
    """The columns read as `row["…"]` with a constant name (none when the template binds `row` itself)."""
    if any(node.name == ROW and node.ctx != "load" for node in tree.find_all(nodes.Name)):
        return frozenset()
    return frozenset(
        node.arg.value for node in tree.find_all(nodes.Getitem)
        if isinstance(node.node, nodes.Name) and node.node.name == ROW
        and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str)
    )


def placeholders(text: str) -> set[str]:
    """The columns a template reads from the item: its names (loop variables and `set` names
    excluded) and the constant keys of `row["…"]`."""
    return set(compile_template(text).placeholders)


def check_placeholders(text: str, columns: Iterable[str], field: str | None = "user_prompt_template") -> None:
    """Raise ValidationError naming every placeholder that is not a column (or a reserved name)."""
    known = set(columns) | RESERVED_NAMES
    unknown = sorted(compile_template(text, field).placeholders - known)
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        noun = "placeholder" if len(unknown) == 1 else "placeholders"
        suggestions = _suggestions(unknown, known)
        raise ValidationError(f"Unknown {noun} {names}: not a column of the sheet.{suggestions}", field)


def _suggestions(unknown: list[str], known: set[str]) -> str:
    from difflib import get_close_matches

    hints = []
    for name in unknown:
        close = get_close_matches(name, sorted(known), n=1)
        if close:
            hints.append(f"'{close[0]}' for '{name}'")
    return f" Did you mean {', '.join(hints)}?" if hints else ""


@dataclass(frozen=True)
class RenderedMessage:
    role: str  # system | user | assistant, as chat APIs name them
    content: str


@dataclass(frozen=True, eq=False)
class MessageRenderer:
    """A template made ready for many items: the system prompt and few-shot pairs rendered once."""

    prefix: tuple[RenderedMessage, ...]
    prompt: CompiledTemplate

    def render(self, row: Mapping[str, Any]) -> tuple[RenderedMessage, ...]:
        return (*self.prefix, RenderedMessage("user", self.prompt.render(row)))


def prepare_messages(template: TemplateDraft) -> MessageRenderer:
    """Compile the user prompt and render the few-shot examples; raises ValidationError naming the problem."""
    prompt = compile_template(template.user_prompt_template, "user_prompt_template")
    prefix = [RenderedMessage("system", template.system_prompt)] if template.system_prompt.strip() else []
    for number, example in enumerate(template.examples, start=1):
        try:
            prefix.append(RenderedMessage("user", prompt.render(example.input)))
        except ValidationError as error:
            raise ValidationError(f"Few-shot example {number}: {error}", "examples") from None
        prefix.append(RenderedMessage("assistant", example.output))
    return MessageRenderer(tuple(prefix), prompt)


# Renderers by template identity: a template is an immutable value, so while the object lives
# its renderer is valid, and a generation run that passes one template per item prepares once.
_renderers: dict[int, tuple[weakref.ref[TemplateDraft], MessageRenderer]] = {}


def _renderer_for(template: TemplateDraft) -> MessageRenderer:
    key = id(template)
    cached = _renderers.get(key)
    if cached is not None and cached[0]() is template:
        return cached[1]
    renderer = prepare_messages(template)
    _renderers[key] = (weakref.ref(template, lambda _, key=key: _renderers.pop(key, None)), renderer)
    return renderer


def render_messages(template: TemplateDraft, row: Mapping[str, Any]) -> tuple[RenderedMessage, ...]:
    """System prompt, then each few-shot example as a user/assistant pair, then the item's prompt."""
    return _renderer_for(template).render(row)


def item_values(item_ref: str, fields: Mapping[str, Any], media_paths: Iterable[str] = ()) -> dict[str, Any]:
    """What a template sees for one item: its columns, plus `item_ref` and `media` unless columns use those names."""
    return {"item_ref": item_ref, "media": list(media_paths), **fields}

