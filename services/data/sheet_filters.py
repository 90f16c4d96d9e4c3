"""A sheet's filter: one boolean expression over its table's columns.

The text is parsed, checked node by node against an allow-list, and rebuilt: every literal
becomes a named parameter and every column a quoted identifier. What reaches SQL is our
rendering of a checked tree, never the text a person typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from services.core.errors import ValidationError

MAX_FILTER_LENGTH = 2000  # a filter longer than this is a query, not a filter
# The SQL parser descends recursively, one Python frame after another per level: 60 levels of
# parentheses exhaust Python's stack. A real filter needs a few levels; AND/OR chains are flat.
MAX_FILTER_NESTING = 20  # levels of parentheses
MAX_EXPRESSION_DEPTH = 64  # nodes from the top of the parsed condition to its deepest leaf, AND/OR not counted
_TOO_DEEP = "The filter is too deeply nested"

_PREDICATES = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ,
    exp.And, exp.Or, exp.Not, exp.In, exp.Between, exp.Is, exp.Like, exp.ILike, exp.Boolean,
)
_VALUES = (
    exp.Column, exp.Identifier, exp.Literal, exp.Null, exp.Boolean, exp.Paren, exp.Neg,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Cast, exp.DataType, exp.Tuple,
)
_FUNCTIONS = (
    exp.Lower, exp.Upper, exp.Trim, exp.Length, exp.Abs, exp.Coalesce, exp.Round,
    exp.Year, exp.Month, exp.Day, exp.Substring, exp.DateTrunc, exp.TsOrDsToDate, exp.Date,
)
_ALLOWED = _PREDICATES + _VALUES + _FUNCTIONS


@dataclass(frozen=True)
class CheckedFilter:
    sql: str  # Databricks SQL over quoted columns, literals as :f0, :f1, …
    params: dict[str, object]
    columns: frozenset[str]


def _parenthesis_depth(text: str) -> int:
    """How deep the parentheses go, outside quoted strings and names."""
    depth = deepest = 0
    quote: str | None = None
    escaped = False
    for char in text:
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


def _expression_depth(tree: exp.Expression) -> int:
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        step = 0 if isinstance(node, exp.Connector) else 1
        pending.extend((child, depth + step) for child in node.iter_expressions())
    return deepest


def _check_nesting(text: str) -> None:
    if _parenthesis_depth(text) > MAX_FILTER_NESTING:
        raise ValidationError(f"{_TOO_DEEP}: use at most {MAX_FILTER_NESTING} levels of parentheses.", "filter_condition")


def _parse(text: str) -> exp.Expression:
    try:
        statements = sqlglot.parse(f"SELECT 1 WHERE {text}", read="databricks")
    except RecursionError:  # NOT NOT NOT … or - - - …: nesting without parentheses
        raise ValidationError(f"{_TOO_DEEP}: write it with fewer levels of NOT, signs and parentheses.", "filter_condition") from None
    except sqlglot.errors.ParseError as error:
        first = error.errors[0]["description"] if error.errors else str(error)
        raise ValidationError(f"The filter is not a valid expression: {first}.", "filter_condition") from error
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise ValidationError("The filter must be a single expression; ';' and statements are not allowed.", "filter_condition")
    where = statements[0].args.get("where")
    if where is None or len(statements[0].expressions) != 1 or statements[0].args.get("from"):
        raise ValidationError("The filter must be a single boolean expression.", "filter_condition")
    return where.this


def _reject_unsafe_nodes(tree: exp.Expression) -> None:
    for node in tree.walk():
        if isinstance(node, (exp.Select, exp.Subquery, exp.Query)):
            raise ValidationError("Subqueries are not allowed in a filter.", "filter_condition")
        if not isinstance(node, _ALLOWED):
            name = node.sql(dialect="databricks")[:40] if isinstance(node, exp.Func) else node.key.upper()
            raise ValidationError(f"'{name}' is not allowed in a filter.", "filter_condition")


def _check_columns(tree: exp.Expression, columns: Iterable[str], qualifier: str | None) -> frozenset[str]:
    known = {c.lower(): c for c in columns}
    used = set()
    for column in tree.find_all(exp.Column):
        if column.table:
            raise ValidationError(f"Use plain column names in a filter, not '{column.sql()}'.", "filter_condition")
        actual = known.get(column.name.lower())
        if actual is None:
            raise ValidationError(f"Unknown column '{column.name}' in the filter.", "filter_condition")
        column.set("this", exp.to_identifier(actual, quoted=True))
        if qualifier:
            column.set("table", exp.to_identifier(qualifier))
        used.add(actual)
    return frozenset(used)


def _with_quoting_hint(error: ValidationError, text: str, columns: list[str]) -> ValidationError:
    """A column such as `state code` typed without its backticks reads as two words: say so."""
    unquoted = [c for c in columns if not c.isidentifier() and c in text and f"`{c}`" not in text]
    if not unquoted:
        return error
    names = ", ".join(f"`{c}`" for c in unquoted)
    return ValidationError(f"{error} Write {names} in backticks, as it is not a plain name.", error.field)


def _literals_to_parameters(tree: exp.Expression) -> tuple[exp.Expression, dict[str, object]]:
    params: dict[str, object] = {}

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal):
            name = f"f{len(params)}"
            params[name] = node.this if node.is_string else _number(node.this)
            return exp.Placeholder(this=name)
        return node

    return tree.transform(replace), params


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def check_filter(text: str | None, columns: Iterable[str], qualifier: str | None = None) -> CheckedFilter | None:
    """Returns None for an empty filter; raises ValidationError with a specific message.

    `qualifier` is the alias of the filtered table in the query the filter goes into, so a
    column that a joined table also has stays unambiguous.
    """
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER_LENGTH:
        raise ValidationError(f"The filter is longer than {MAX_FILTER_LENGTH} characters.", "filter_condition")
    _check_nesting(text)
    columns = list(columns)
    try:
        tree = _parse(text.strip())
        if _expression_depth(tree) > MAX_EXPRESSION_DEPTH:
            raise ValidationError(f"{_TOO_DEEP}: write it with fewer levels of NOT, signs and parentheses.", "filter_condition")
        _reject_unsafe_nodes(tree)
        if not isinstance(tree, _PREDICATES) and not (isinstance(tree, exp.Paren) and isinstance(tree.unnest(), _PREDICATES)):
            raise ValidationError("The filter must be a condition (for example amount > 100), not a value.", "filter_condition")
        used = _check_columns(tree, columns, qualifier)
    except ValidationError as error:
        raise _with_quoting_hint(error, text, columns) from None
    tree, params = _literals_to_parameters(tree)
    return CheckedFilter(tree.sql(dialect="databricks"), params, used)
