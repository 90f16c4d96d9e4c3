"""Databricks SQL to DuckDB, once per distinct statement."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp

# Statements are constants in our code, so the cache holds a bounded, small set; the bound
# only guards against a caller building statements dynamically by mistake.
_TRANSPILE_CACHE_SIZE = 4096

_QUALIFIED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}\Z")


class TranspileError(ValueError):
    """A statement is not valid Databricks SQL."""


@dataclass(frozen=True)
class Transpiled:
    sql: str
    parameter_names: frozenset[str]


def parse_databricks(sql: str) -> exp.Expression:
    """Parse one Databricks SQL statement, raising TranspileError with the parser's message."""
    try:
        statements = sqlglot.parse(sql, read="databricks")
    except sqlglot.errors.ParseError as error:
        raise TranspileError(str(error)) from error
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise TranspileError(f"Expected one statement, found {len(statements)}.")
    return statements[0]


AI_QUERY_OR_ERROR = "ai_query_or_error"


def _emulated_ai_query(node: exp.Expression) -> exp.Expression:
    """`ai_query(endpoint, request, failOnError => false)` returns a struct {result,
    errorMessage} on Databricks; DuckDB has no named arguments for UDFs, so the emulator's
    struct-returning UDF takes its place (data_access/sql/ai_query_emulator.py)."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "ai_query":
        kwargs = [a for a in node.expressions if isinstance(a, exp.Kwarg)]
        if any(k.this.name.lower() == "failonerror" and k.expression.sql().upper() == "FALSE" for k in kwargs):
            positional = [a for a in node.expressions if not isinstance(a, exp.Kwarg)]
            return exp.Anonymous(this=AI_QUERY_OR_ERROR, expressions=positional)
    return node


def _lenient_json_parse(node: exp.Expression) -> exp.Expression:
    """`try_parse_json(x)` is NULL on Databricks when x is not JSON; DuckDB has no such function
    and its JSON functions raise on malformed input, so `try_parse_json(x)` becomes
    `CASE WHEN json_valid(x) THEN x END` (the text itself: re-serialising it costs three times
    the check): tested `IS NOT NULL`, one bad value stays NULL, not an error."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "try_parse_json" and len(node.expressions) == 1:
        value = node.expressions[0]
        return exp.Case(
            ifs=[exp.If(this=exp.Anonymous(this="json_valid", expressions=[value.copy()]), true=value.copy())]
        )
    return node


@lru_cache(maxsize=_TRANSPILE_CACHE_SIZE)
def to_duckdb(sql: str) -> Transpiled:
    tree = parse_databricks(sql).transform(_emulated_ai_query).transform(_lenient_json_parse)
    names = frozenset(p.name for p in tree.find_all(exp.Placeholder) if p.name)
    return Transpiled(sql=tree.sql(dialect="duckdb"), parameter_names=names)


def is_qualified_name(name: str) -> bool:
    """A table name our own code chose: one to three plain identifiers separated by dots."""
    return bool(_QUALIFIED_NAME.match(name))
