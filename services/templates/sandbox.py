"""The sandbox prompt templates run in: Jinja2's immutable sandbox, with the work of a render bounded.

Jinja's sandbox keeps a template away from Python internals and from mutating its values; it
does not stop a template from asking for a billion iterations or a gigabyte string. Here every
way a template makes work or memory is bounded while it renders, and a render that goes past a
limit stops with `RenderLimitExceeded`, whose message names the limit:

- loops: every `for` (recursive ones included) and every iterator a filter or method returns
  counts against one budget of iterations per render; `range()` is bounded on its own;
- values: text, lists and bytes made by any filter, method or operator are checked against one
  size limit, *before* they are made when their arguments decide their size (`center`, widths
  in `%` and `format`, `indent`, `replace`, `join`, `~`, `+`, `*`, ...), after otherwise;
- output: the renderer counts the prompt as it grows (see rendering.py), and the buffers of
  macros, `{% set %}` blocks and `{% filter %}` blocks are counted as they fill;
- time: each hook above also checks a wall-clock deadline per render.

The budget of the render in progress is kept per thread (a render runs on one thread, and
Streamlit and the generation jobs render on several at once).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from decimal import Decimal
from functools import wraps
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.filters import make_attrgetter
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import Namespace, _PassArg, generate_lorem_ipsum
from markupsafe import Markup

MAX_VALUE_LENGTH = 1_000_000  # characters of a text, or items of a list, made while rendering
MAX_RENDERED_CHARS = 1_000_000  # far beyond any model's context window
MAX_RANGE_LENGTH = 10_000  # a prompt counts a few things; range(10**9) is an attack, not a prompt
MAX_LOOP_ITERATIONS = 100_000  # per render, all loops together: a typical prompt needs a few dozen
RENDER_TIME_LIMIT_S = 1.0  # a typical prompt renders in about 10 µs; one second is 100,000 times that
MAX_NUMBER_DIGITS = 1000  # `9 ** 99 ** 99` or repeated squaring would compute for hours
_MAX_NUMBER_BITS = int(MAX_NUMBER_DIGITS * 3.33)
_SCALAR_TEXT = 32  # how long a number or date prints, at most (ints are measured by their bits)


class RenderLimitExceeded(Exception):
    """A render went past one of the limits above; the message names the limit."""


def _too_long(kind: str = "text") -> RenderLimitExceeded:
    unit = "characters" if kind == "text" else "items"
    return RenderLimitExceeded(f"this makes {kind} past the limit of {MAX_VALUE_LENGTH:,} {unit} per value")


class RenderBudget:
    """What one render may still spend: its deadline and its loop iterations."""

    __slots__ = ("deadline", "iterations")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + RENDER_TIME_LIMIT_S
        self.iterations = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimitExceeded(f"rendering is past the limit of {RENDER_TIME_LIMIT_S:g} s per render")

    def count_iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise RenderLimitExceeded(f"the loops are past the limit of {MAX_LOOP_ITERATIONS:,} iterations per render")
        self.check_time()


_active = threading.local()


def start_render() -> RenderBudget | None:
    """Give this thread a fresh budget; returns the one it replaces (for `end_render`)."""
    previous = getattr(_active, "budget", None)
    _active.budget = RenderBudget()
    return previous


def end_render(previous: RenderBudget | None) -> None:
    _active.budget = previous


def _budget() -> RenderBudget | None:
    # None while Jinja folds constants at compile time: then only the size checks apply.
    return getattr(_active, "budget", None)


def _check_time() -> None:
    budget = _budget()
    if budget is not None:
        budget.check_time()


# -- sizes -------------------------------------------------------------------------------
def printed_length(value: Any, cap: int = MAX_VALUE_LENGTH) -> int:
    """An upper bound on the length of `value` as text (str or JSON), counted without making
    the text; counting stops once past `cap`, so it costs at most about `cap` steps."""
    total, pending = 0, [value]
    while pending and total <= cap:
        item = pending.pop()
        if isinstance(item, str | bytes | bytearray):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            pending.extend(item)
        elif isinstance(item, Namespace):
            total += 14
            pending.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        else:
            total += _SCALAR_TEXT
    return total


def _require_text(length: int) -> None:
    if length > MAX_VALUE_LENGTH:
        raise _too_long()


def require_printable(value: Any) -> None:
    """Refuse a value whose text would be past the size limit (before printing it)."""
    if not isinstance(value, str | int | float) and printed_length(value) > MAX_VALUE_LENGTH:
        raise _too_long()


def _count(value: Any) -> int:
    """A width, count or length argument as a number (anything else is left to the call to refuse)."""
    return value if isinstance(value, int) else 0


def bounded(value: Any) -> Any:
    """A value a filter, method or call made: refused past the size limit; an iterator counts
    each item it yields against the render's loop budget."""
    if isinstance(value, str | bytes | bytearray):
        if len(value) > MAX_VALUE_LENGTH:
            raise _too_long()
    elif isinstance(value, list | tuple | dict | set | frozenset):
        if len(value) > MAX_VALUE_LENGTH:
            raise _too_long("a list")
    elif isinstance(value, Iterator) and not isinstance(value, LoopContext):
        return counted(value)
    return value


def counted(iterable: Iterable[Any]) -> Iterable[Any]:
    budget = _budget()
    if budget is None:
        return iterable
    return _counting(iterable, budget)


def _counting(iterable: Iterable[Any], budget: RenderBudget) -> Iterator[Any]:
    for item in iterable:
        budget.count_iteration()
        yield item


def _joined_within_limit(parts: Iterable[Any]) -> str:
    """`concat` of compiled templates (macro and block results): counted as the parts arrive."""
    texts, size = [], 0
    for part in parts:
        size += len(part)
        _require_text(size)
        texts.append(part)
    return "".join(texts)


class _BoundedBuffer(list):  # type: ignore[type-arg]
    """The output buffer of a macro, `{% set %}` block, `{% filter %}` block or `caller()`,
    counted as it fills: a macro looping over a long text would otherwise hold gigabytes."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def append(self, text: Any) -> None:
        self.size += len(text)
        _require_text(self.size)
        super().append(text)

    def extend(self, texts: Iterable[Any]) -> None:
        for text in texts:
            self.append(text)


# -- printf-style `%` and str.format ------------------------------------------------------
_PRINTF_FIELD = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)
_NUMBER_TEXT = 330  # `'%f' % 1e308` prints 309 digits, plus sign, point and six decimals


def _printf_length(text: str | bytes, args: Any) -> int:
    """An upper bound on the length of `text % args`, field by field."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    positional = list(args) if isinstance(args, tuple) else [args]
    mapping = args if isinstance(args, Mapping) else {}
    total, used = len(text), 0
    for match in _PRINTF_FIELD.finditer(text):
        key, width, precision, kind = match.groups()
        if kind == "%":
            continue
        for part in (width, precision):
            if part == "*":
                total += abs(_count(positional[used])) if used < len(positional) else 0
                used += 1
            elif part:
                total += int(part) if len(part) < 10 else MAX_VALUE_LENGTH + 1
        if key is None:
            value, used = (positional[used] if used < len(positional) else None), used + 1
        else:
            value = mapping.get(key)
        total += printed_length(value) if kind in "sra" else _NUMBER_TEXT
        if total > MAX_VALUE_LENGTH:
            break
    return total


_DIGITS = re.compile(r"\d+")


class _BoundedFormatting:
    """str.format that counts what it writes: each field's width is checked before it is padded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._written = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_time()
        widest = max((int(d) if len(d) < 10 else MAX_VALUE_LENGTH + 1 for d in _DIGITS.findall(format_spec)), default=0)
        self._written += max(widest, printed_length(value)) + len(format_spec)
        _require_text(self._written)
        return super().format_field(value, format_spec)  # type: ignore[misc]


class _BoundedFormatter(_BoundedFormatting, SandboxedFormatter):
    pass


class _BoundedEscapeFormatter(_BoundedFormatting, SandboxedEscapeFormatter):
    pass


# -- what a call's arguments say about the size of its result ------------------------------
def _padded(owner: Any, width: Any = 0, *_: Any) -> None:
    _require_text(max(len(owner), _count(width)))


def _expandtabs(owner: Any, tabsize: Any = 8) -> None:
    tab = b"\t" if isinstance(owner, bytes | bytearray) else "\t"
    _require_text(len(owner) + owner.count(tab) * max(_count(tabsize), 1))


def _replaced_length(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, str | bytes | bytearray) or not isinstance(new, str | bytes | bytearray):
        return len(text)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _replace(owner: Any, old: Any = "", new: Any = "", count: Any = -1) -> None:
    _require_text(_replaced_length(owner, old, new, count))


def _translate(owner: Any, table: Any = None) -> None:
    longest = 1
    if isinstance(table, Mapping):
        longest = max((len(v) for v in table.values() if isinstance(v, str | bytes)), default=1)
    _require_text(len(owner) * max(longest, 1))


def _to_bytes(owner: Any, length: Any = 1, *_: Any, **__: Any) -> None:
    _require_text(_count(length))


_TEXT_METHODS: dict[str, Callable[..., None]] = {
    "center": _padded, "ljust": _padded, "rjust": _padded, "zfill": _padded,
    "expandtabs": _expandtabs, "replace": _replace, "translate": _translate,
}


def _joined_items(separator: Any, items: Iterable[Any]) -> list[Any]:
    """The items of a join, checked: their total length with the separators stays within the limit."""
    items = list(counted(items))
    _require_text(len(separator) * max(len(items) - 1, 0) + sum(printed_length(i) for i in items))
    return items


def _checked_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Check a builtin method's arguments before it runs; returns the arguments to call it with."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, str | bytes | bytearray):
        if name == "join" and args:
            return (_joined_items(owner, args[0]), *args[1:])
        check = _TEXT_METHODS.get(name)
        if check is not None:
            _run_check(check, (owner, *args), kwargs)
    elif isinstance(owner, int) and name == "to_bytes":
        _run_check(_to_bytes, (owner, *args), kwargs)
    elif isinstance(obj, LoopContext) and args:
        return (counted(args[0]), *args[1:])  # `loop(children)` in a recursive loop
    return args


# -- filters ------------------------------------------------------------------------------
# Filters that print their value as text first: a list of a million references to a long text
# would print as gigabytes.
_PRINTING_FILTERS = frozenset({
    "capitalize", "center", "e", "escape", "forceescape", "format", "indent", "lower", "pprint", "replace",
    "safe", "string", "striptags", "title", "trim", "truncate", "upper", "urlencode", "urlize", "wordcount", "wordwrap",
})


def _filter_center(value: Any, width: Any = 80) -> None:
    _require_text(max(printed_length(value), _count(width)))


def _filter_format(value: Any, *args: Any, **kwargs: Any) -> None:
    _require_text(_printf_length(str(value), kwargs or args))


def _filter_indent(value: Any, width: Any = 4, first: Any = False, blank: Any = False) -> None:
    text = str(value)
    step = len(width) if isinstance(width, str) else _count(width)
    _require_text(len(text) + (text.count("\n") + 1) * step)


def _filter_replace(value: Any, old: Any = "", new: Any = "", count: Any = None) -> None:
    _require_text(_replaced_length(str(value), old, new, -1 if count is None else count))


def _filter_wordwrap(
    value: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None, break_on_hyphens: Any = True
) -> None:
    text = str(value)
    lines = len(text) // max(_count(width), 1) + text.count("\n") + 1
    _require_text(len(text) + lines * len(str(wrapstring or "\n")))


def _filter_urlize(value: Any, trim_url_limit: Any = None, nofollow: Any = False, target: Any = None, rel: Any = None, extra_schemes: Any = None) -> None:
    text = str(value)
    per_link = 40 + len(str(target or "")) + len(str(rel or ""))
    _require_text(3 * len(text) + len(text.split()) * per_link)


def _filter_batch(value: Any, linecount: Any = 1, fill_with: Any = None) -> None:
    if fill_with is not None and _count(linecount) > MAX_VALUE_LENGTH:
        raise _too_long("a list")


def _filter_sum(iterable: Any = (), attribute: Any = None, start: Any = 0) -> None:
    # Adding lists one to the next copies them over and over: quadratic, and no prompt needs it.
    if not isinstance(start, int | float | Decimal):
        raise RenderLimitExceeded("sum adds numbers in a template; join texts with `join`, and lists with a loop")


def _join_arguments(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> tuple[Any, ...]:
    """`join`'s arguments with its items checked; `attribute` is applied first so the check sees what is joined."""
    if attribute is not None:
        value = map(make_attrgetter(eval_ctx.environment, attribute), value)
    return eval_ctx, _joined_items(str(d), value), d


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _filter_center, "format": _filter_format, "indent": _filter_indent, "replace": _filter_replace,
    "wordwrap": _filter_wordwrap, "urlize": _filter_urlize, "batch": _filter_batch, "sum": _filter_sum,
}


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    passes_first = _PassArg.from_obj(func) is not None  # a context or environment comes before the value
    check = _FILTER_CHECKS.get(name)
    prints = name in _PRINTING_FILTERS

    @wraps(func)  # keeps Jinja's pass_context/pass_environment marks, so Jinja calls it as before
    def bounded_filter(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        value_args = args[1:] if passes_first else args
        if prints and value_args:
            require_printable(value_args[0])
        if check is not None:
            _run_check(check, value_args, kwargs)
        if name == "join":
            args, kwargs = _join_arguments(*args, **kwargs), {}
        return bounded(func(*args, **kwargs))

    return bounded_filter


def _run_check(check: Callable[..., None], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with suppress(TypeError, ValueError):  # arguments the call itself refuses, with its own message
        check(*args, **kwargs)


# -- globals --------------------------------------------------------------------------------
def bounded_range(*args: int) -> range:
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = MAX_RANGE_LENGTH + 1
    if length > MAX_RANGE_LENGTH:
        raise RenderLimitExceeded(f"range() is past the limit of {MAX_RANGE_LENGTH:,} numbers per range")
    return numbers


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # Jinja's parameter names
    _require_text(_count(n) * (_count(max) + 1) * 12)
    return generate_lorem_ipsum(n, html, min, max)


def _bounded_json_dumps(value: Any, **kwargs: Any) -> str:
    """`tojson`, written chunk by chunk and stopped once past the limit."""
    indent = kwargs.get("indent")
    _require_text(len(indent) if isinstance(indent, str) else _count(indent))
    written, chunks = 0, []
    for chunk in json.JSONEncoder(**kwargs).iterencode(value):
        written += len(chunk)
        _require_text(written)
        chunks.append(chunk)
    return "".join(chunks)


# -- the compiler: loops counted, `~` checked -----------------------------------------------
class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with every loop's iterable counted and every `~` checked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loop_iterables: set[int] = set()  # Jinja allows no custom node types, so loops are marked by id

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._loop_iterables.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._loop_iterables:
            return super().visit(node, *args, **kwargs)
        self.write("environment.counted_loop(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # As Jinja writes it, with the parts checked before they are joined.
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"environment.concat_within_limit({join}, (")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


def _concat_within_limit(join: Callable[[Iterable[Any]], str], parts: tuple[Any, ...]) -> str:
    _check_time()
    _require_text(sum(len(p) if isinstance(p, str) else printed_length(p) for p in parts))
    return join(parts)


# -- the environment ---------------------------------------------------------------------------
class PromptEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with every operation that can make work or memory bounded."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum
        self.filters = {name: _bounded_filter(name, func) for name, func in self.filters.items()}
        self.policies["json.dumps_function"] = _bounded_json_dumps
        self.concat = _joined_within_limit  # type: ignore[assignment]  # compiled templates join buffers with it
        self.counted_loop = counted
        self.output_buffer = _BoundedBuffer
        self.concat_within_limit = _concat_within_limit

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        _check_time()
        if operator_name == "*":
            _check_repetition(left, right)
        elif operator_name == "**":
            _check_power(left, right)
        elif operator_name == "%" and isinstance(left, str | bytes):
            _require_text(_printf_length(left, right))
        elif operator_name == "+" and isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
            _require_text(len(left) + len(right))
        return bounded(super().call_binop(context, operator_name, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # Jinja's signature
        _check_time()
        args = _checked_call(__obj, args, kwargs)
        return bounded(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's sandboxed str.format and format_map, with a formatter that counts what it writes."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or value.__name__ not in ("format", "format_map"):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        is_format_map = value.__name__ == "format_map"
        escape = isinstance(text, Markup)

        def formatted(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            formatter = _BoundedEscapeFormatter(self, escape=text.escape) if escape else _BoundedFormatter(self)
            return type(text)(formatter.vformat(text, args, kwargs))

        return formatted


def _check_repetition(left: Any, right: Any) -> None:
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, str | bytes | list | tuple) and isinstance(count, int):
            _require_text(len(sequence) * count)
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > _MAX_NUMBER_BITS:
        raise _too_many_digits()


def _check_power(base: Any, exponent: Any) -> None:
    numbers = (int, float)
    if not isinstance(base, numbers) or not isinstance(exponent, numbers) or abs(base) <= 1 or exponent <= 0:
        return
    if exponent * math.log10(abs(base)) > MAX_NUMBER_DIGITS:
        raise _too_many_digits()


def _too_many_digits() -> RenderLimitExceeded:
    return RenderLimitExceeded(f"this makes a number past the limit of {MAX_NUMBER_DIGITS:,} digits")

