"""The SQL engine seam.

Statements are written once, in Databricks SQL, with named parameters (`:name`). The
warehouse engine sends them as written; the embedded engine transpiles them to DuckDB.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pyarrow as pa

Row = dict[str, Any]
Params = Mapping[str, Any]


class SqlError(RuntimeError):
    """A statement failed in the engine; the message keeps the engine's own words."""


class WriteConflictError(SqlError):
    """Two writers changed the same rows at the same moment; the later one was refused."""


class SqlEngine(ABC):
    """A connection to one SQL backend, safe to share between Streamlit's threads."""

    dialect: str = "databricks"

    @abstractmethod
    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        """Run a query and return its rows as dicts keyed by column name."""

    @abstractmethod
    def query_df(self, sql: str, params: Params | None = None) -> pd.DataFrame:
        """Run a query and return a DataFrame (for previews and grids)."""

    @abstractmethod
    def stream(self, sql: str, params: Params | None = None, batch_rows: int = 10_000) -> Iterator[list[Row]]:
        """Run a query and yield its rows in batches of at most `batch_rows`, fetched from the
        cursor as they are consumed (constant memory on the Python side, whatever the result).
        The cursor is its own: other statements may run between batches."""

    def stream_arrow(self, sql: str, params: Params | None = None, batch_rows: int = 10_000) -> Iterator[pa.RecordBatch]:
        """As `stream`, a batch at a time, column-wise: for results too large to turn each value
        into a Python object (an export). This default converts `stream`'s rows; the engines
        override it to fetch Arrow as the driver receives it."""
        for rows in self.stream(sql, params, batch_rows):
            yield pa.RecordBatch.from_pylist(rows)

    @abstractmethod
    def execute(self, sql: str, params: Params | None = None) -> int:
        """Run a statement; returns the number of rows it changed where the engine says."""

    @abstractmethod
    def insert_rows(self, table: str, rows: pd.DataFrame | pa.Table) -> int:
        """Append a frame of rows to a table, set-based (never one statement per row). An Arrow
        table carries a column of vectors as one float buffer (a list array), where a DataFrame
        holds one Python object per cell: the embedded engine reads it without touching Python."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group statements atomically where the backend can; a no-op on a warehouse."""
        yield

    def query_one(self, sql: str, params: Params | None = None) -> Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Params | None = None) -> Any:
        row = self.query_one(sql, params)
        return None if row is None else next(iter(row.values()))

    def execute_script(self, statements: Sequence[str]) -> None:
        for statement in statements:
            self.execute(statement)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection."""
