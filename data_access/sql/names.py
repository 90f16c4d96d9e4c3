"""Table and column names that reach SQL text.

Values always travel as parameters; names cannot, so we write them. Table names are parsed
into plain identifiers (catalog.schema.table) and anything else is refused with a message.
Column names are what Unity Catalog allows in backticks (`state code`, `größe`): any
characters but control characters, written in backticks with a backtick inside doubled, as
Databricks SQL escapes it; the statement is then parsed again (sqlglot) before DuckDB runs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}\Z")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
MAX_COLUMN_NAME_LENGTH = 255  # Unity Catalog's limit for a column name


class InvalidNameError(ValueError):
    """A table or column name is not a plain identifier."""


def check_identifier(name: str, what: str = "name") -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InvalidNameError(f"{what} {name!r} must be letters, digits and underscores, starting with a letter.")
    return name


def check_column_name(name: str, what: str = "column") -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_COLUMN_NAME_LENGTH or _CONTROL_CHARACTER.search(name):
        raise InvalidNameError(
            f"{what.capitalize()} name {name!r} cannot be used: it needs 1 to {MAX_COLUMN_NAME_LENGTH} characters, "
            "none of them a control character (a line break, a tab)."
        )
    return name


def quote(name: str) -> str:
    """A column (or alias) name as Databricks SQL writes it: in backticks, a backtick inside doubled."""
    return "`" + check_column_name(name).replace("`", "``") + "`"


@dataclass(frozen=True)
class TableName:
    catalog: str
    schema: str
    table: str

    @classmethod
    def parse(cls, name: str) -> TableName:
        parts = name.strip().split(".") if isinstance(name, str) else []
        if len(parts) != 3:
            raise InvalidNameError(f"Table {name!r} must be a three-part name: catalog.schema.table.")
        for part, what in zip(parts, ("catalog", "schema", "table"), strict=True):
            check_identifier(part, what)
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.table}"

    @property
    def quoted(self) -> str:
        return ".".join(quote(p) for p in (self.catalog, self.schema, self.table))
