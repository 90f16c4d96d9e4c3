"""A SQL warehouse on DuckDB, behind a DB-API 2 connection shaped like databricks-sql-connector's.

The engine under test calls it exactly as it calls the connector: Databricks SQL text with
`:name` markers and a dict of values. Each value goes through the connector's own typing
(`dbsql_parameter_from_primitive(...).as_tspark_param(named=True)`, the Thrift form a real
warehouse receives), is decoded back from that wire form, and the statement is transpiled with
`to_duckdb` and run on DuckDB. Like a warehouse it refuses more than 256 parameters and unbound
markers, answers DML with a `num_affected_rows` row, and raises the connector's exceptions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import duckdb
import pyarrow as pa
from databricks.sql import exc
from databricks.sql.parameters.native import dbsql_parameter_from_primitive
from databricks.sql.types import Row
from sqlglot import exp

from data_access.sql.transpile import TranspileError, parse_databricks, to_duckdb

# The warehouse's own limit ("Parameterized query has too many parameters … the limit is 256").
WAREHOUSE_PARAMETER_LIMIT = 256

_INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INT", "BIGINT"})


@dataclass(frozen=True)
class ReceivedStatement:
    """What reached the warehouse: the text as sent and the parameters as the wire typed them."""

    sql: str
    parameters: dict[str, Any]
    types: dict[str, str]


class FakeWarehouse:
    """The server side: one in-memory DuckDB database, one attached database per catalog."""

    def __init__(self, catalogs: Iterable[str] = ("mirion_vital",)) -> None:
        self.database = duckdb.connect(":memory:")
        self.database.execute("SET TimeZone = 'UTC'")
        self.catalogs = tuple(catalogs)
        for catalog in self.catalogs:
            self.database.execute(f"ATTACH ':memory:' AS \"{catalog}\"")
        self.received: list[ReceivedStatement] = []
        self.connections_opened = 0
        self.refuse_sessions = False
        self._generation = 0
        self._lock = threading.Lock()

    def connect(self) -> FakeConnection:
        with self._lock:
            self.connections_opened += 1
            return FakeConnection(self, self._generation)

    def drop_sessions(self) -> None:
        """As a warehouse restart does: every open session becomes an invalid handle."""
        with self._lock:
            self._generation += 1

    def session_valid(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation and not self.refuse_sessions

    def record(self, statement: ReceivedStatement) -> None:
        with self._lock:
            self.received.append(statement)

    def close(self) -> None:
        self.database.close()


class FakeConnection:
    def __init__(self, warehouse: FakeWarehouse, generation: int) -> None:
        self.warehouse = warehouse
        self.generation = generation
        self.closed = False
        self._duck = warehouse.database.cursor()

    def cursor(self) -> FakeCursor:
        if self.closed:
            raise exc.InterfaceError("Cannot create cursor from closed connection")
        return FakeCursor(self)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._duck.close()

    def run(self, sql: str, parameters: dict[str, Any]) -> duckdb.DuckDBPyConnection:
        if not self.warehouse.session_valid(self.generation):
            raise exc.DatabaseError(f"Invalid SessionHandle: SessionHandle [{id(self):x}]")
        return self._duck.execute(sql, parameters)


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self._rows: list[Row] = []
        self._closed = False

    def execute(self, operation: str, parameters: Mapping[str, Any] | None = None) -> FakeCursor:
        if self._closed:
            raise exc.InterfaceError("Attempting operation on closed cursor")
        values, types = _over_the_wire(parameters)
        if len(values) > WAREHOUSE_PARAMETER_LIMIT:
            raise exc.RequestError(
                "Error during request to server: BAD_REQUEST: Parameterized query has too many parameters: "
                f"{len(values)} parameters were given but the limit is {WAREHOUSE_PARAMETER_LIMIT}."
            )
        try:
            transpiled = to_duckdb(operation)
        except TranspileError as error:
            raise exc.ServerOperationError(f"[PARSE_SYNTAX_ERROR] Syntax error: {error}") from error
        unbound = sorted(transpiled.parameter_names - values.keys())
        if unbound:
            raise exc.ServerOperationError(f"[UNBOUND_SQL_PARAMETER] Found the unbound parameter: {unbound[0]}.")
        self.connection.warehouse.record(ReceivedStatement(operation, values, types))
        try:
            result = self.connection.run(transpiled.sql, {n: values[n] for n in transpiled.parameter_names})
            self._collect(operation, result)
        except duckdb.Error as error:
            raise exc.ServerOperationError(str(error)) from error
        return self

    def _collect(self, operation: str, result: duckdb.DuckDBPyConnection) -> None:
        kind = _statement_kind(operation)
        if kind is not None:
            count = int(result.fetchone()[0])
            columns = ["num_affected_rows", "num_inserted_rows"] if kind is exp.Insert else ["num_affected_rows"]
            self.description = [(c, "bigint", None, None, None, None, None) for c in columns]
            self._rows = [Row(*columns)(*([count] * len(columns)))]
            self.rowcount = count
        elif result.description:
            columns = [d[0] for d in result.description]
            self.description = [(c, str(d[1]).lower(), None, None, None, None, None) for c, d in zip(columns, result.description, strict=True)]
            make_row = Row(*columns)
            self._rows = [make_row(*values) for values in result.fetchall()]
            self.rowcount = -1
        else:
            self.description, self._rows, self.rowcount = None, [], -1

    def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    def fetchmany(self, size: int) -> list[Row]:
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def fetchmany_arrow(self, size: int) -> pa.Table:
        """As the connector: the next rows as an Arrow table, an empty one at the end."""
        columns = [d[0] for d in self.description or ()]
        rows = self.fetchmany(size)
        return pa.table({c: [getattr(r, c) for r in rows] for c in columns}) if rows else pa.table({c: pa.array([], pa.null()) for c in columns})

    def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    def close(self) -> None:
        self._closed = True


@lru_cache(maxsize=4096)
def _statement_kind(sql: str) -> type[exp.Expression] | None:
    tree = parse_databricks(sql)
    for kind in (exp.Insert, exp.Update, exp.Delete, exp.Merge):
        if isinstance(tree, kind):
            return kind
    return None


def _over_the_wire(parameters: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Type each value with the connector's code, then read it back as the warehouse would."""
    values: dict[str, Any] = {}
    types: dict[str, str] = {}
    for name, value in (parameters or {}).items():
        spark = dbsql_parameter_from_primitive(value, name=name).as_tspark_param(named=True)
        text = spark.value.stringValue if spark.value is not None else None
        values[spark.name] = _decode(spark.type, text, spark.arguments)
        types[spark.name] = spark.type
    return values, types


def _decode(kind: str, text: str | None, arguments: list[Any] | None) -> Any:
    if kind == "VOID":
        return None
    if kind == "ARRAY":
        return [_decode(a.type, a.value, a.arguments) for a in arguments or ()]
    if kind == "MAP":
        items = [_decode(a.type, a.value, a.arguments) for a in arguments or ()]
        return dict(zip(items[::2], items[1::2], strict=True))
    if text is None:
        return None
    if kind in _INTEGER_TYPES:
        return int(text)
    if kind in ("DOUBLE", "FLOAT"):
        return float(text)
    if kind == "BOOLEAN":
        return text.lower() == "true"
    if kind == "STRING":
        return text
    if kind == "DATE":
        return date.fromisoformat(text)
    if kind in ("TIMESTAMP", "TIMESTAMP_NTZ"):
        return datetime.fromisoformat(text)
    if kind.startswith("DECIMAL"):
        return Decimal(text)
    raise exc.NotSupportedError(f"The fake warehouse cannot decode a {kind} parameter.")
