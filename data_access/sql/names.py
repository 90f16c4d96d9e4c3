"""Table and column names that reach SQL text.

Values always travel as parameters; names cannot, so a name is parsed into plain
identifiers and quoted by us. Anything with quotes, dots in the wrong place, spaces or
other punctuation is refused with a message, never escaped and pasted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}\Z")


class InvalidNameError(ValueError):
    """A table or column name is not a plain identifier."""


def check_identifier(name: str, what: str = "name") -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InvalidNameError(f"{what} {name!r} must be letters, digits and underscores, starting with a letter.")
    return name


def quote(identifier: str) -> str:
    return f"`{check_identifier(identifier)}`"


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
