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


def _parse(text: str) -> exp.Expression:
    try:
        statements = sqlglot.parse(f"SELECT 1 WHERE {text}", read="databricks")
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
    tree = _parse(text.strip())
    _reject_unsafe_nodes(tree)
    if not isinstance(tree, _PREDICATES) and not (isinstance(tree, exp.Paren) and isinstance(tree.unnest(), _PREDICATES)):
        raise ValidationError("The filter must be a condition (for example amount > 100), not a value.", "filter_condition")
    used = _check_columns(tree, columns, qualifier)
    tree, params = _literals_to_parameters(tree)
    return CheckedFilter(tree.sql(dialect="databricks"), params, used)
