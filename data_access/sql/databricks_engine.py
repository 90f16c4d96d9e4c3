"""The warehouse engine: Databricks SQL sent as written, through databricks-sql-connector.

Parameters travel natively: the text keeps its `:name` markers and the warehouse binds the
values, so nothing a person typed is ever pasted into SQL. Connector 4.9 types each value from
its Python type (parameters/native.py): str → STRING, int → INT or BIGINT, float → DOUBLE,
bool → BOOLEAN, Decimal → DECIMAL(p,s) sized from its digits, date → DATE, datetime →
TIMESTAMP, None → VOID (a NULL that takes the column's type), list/tuple → ARRAY of the
elements' types, dict → MAP. Anything else (numpy and pandas scalars included) is refused by
the connector, so values are turned into those plain types first (`bindable`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
from databricks.sql import exc as connector_errors
from sqlglot import exp

from data_access.identity import User
from data_access.sql.engine import Params, Row, SqlEngine, SqlError
from data_access.sql.names import InvalidNameError, check_identifier, quote
from data_access.sql.transpile import TranspileError, is_qualified_name, parse_databricks

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

# A SQL warehouse refuses a statement with more bound values than this ("Parameterized query
# has too many parameters: … the limit is 256"), so multi-row inserts are chunked to fit.
MAX_PARAMETERS_PER_STATEMENT = 256

# Statements are constants in our code (plus one insert shape per table and chunk length).
_PARSE_CACHE_SIZE = 4096

# Databricks answers INSERT, UPDATE, DELETE and MERGE with one row holding this column.
_AFFECTED_ROWS = "num_affected_rows"

_T = TypeVar("_T")

_WAREHOUSE_ID = re.compile(r"^[A-Za-z0-9]{1,64}\Z")

# What the connector says when this thread's session is gone (warehouse restart, idle
# timeout, closed handle): the statement never ran, so running it once more is safe.
_DROPPED_SESSION_MARKERS = ("invalid sessionhandle", "invalid_handle", "session_not_found", "closed connection", "closed cursor")


class DBAPICursor(Protocol):
    """The part of a PEP 249 cursor the engine uses (connector 4.9's Cursor, or a test fake)."""

    @property
    def description(self) -> Sequence[Sequence[Any]] | None: ...

    @property
    def rowcount(self) -> int: ...

    def execute(self, operation: str, parameters: Mapping[str, Any] | None = None) -> Any: ...

    def fetchall(self) -> Sequence[Sequence[Any]]: ...

    def fetchmany(self, size: int) -> Sequence[Sequence[Any]]: ...

    def fetchmany_arrow(self, size: int) -> pa.Table: ...

    def close(self) -> None: ...


class DBAPIConnection(Protocol):
    def cursor(self) -> DBAPICursor: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    rowcount: int


class DatabricksSqlEngine(SqlEngine):
    """One connector connection per thread (the connector's are not shared safely), opened lazily.

    `transaction()` stays the base no-op: every Delta statement commits atomically on its own,
    and multi-statement transactions (Public Preview) need catalog-managed commits on every
    table written and refuse DDL inside them, which a workbench schema cannot count on. So the
    invariants that span statements are kept by MERGE on natural keys and row_version checks.
    """

    dialect = "databricks"

    def __init__(self, connect: Callable[[], DBAPIConnection]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._open: list[DBAPIConnection] = []
        self._open_lock = threading.Lock()

    @classmethod
    def from_workspace(cls, client: WorkspaceClient, warehouse_id: str, user: User) -> DatabricksSqlEngine:
        arguments = connection_arguments(client, warehouse_id, user)

        def connect() -> DBAPIConnection:
            # The connector's client module takes about 0.6 s to import: the first statement pays.
            from databricks import sql

            return sql.connect(**arguments)

        return cls(connect)

    # -- connections -----------------------------------------------------------------
    def _connection(self) -> DBAPIConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = self._connect()
            except connector_errors.Error as error:
                raise SqlError(f"Could not connect to the SQL warehouse: {_message(error)}") from error
            self._local.connection = connection
            with self._open_lock:
                self._open.append(connection)
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is None:
            return
        with self._open_lock:
            if connection in self._open:
                self._open.remove(connection)
        with suppress(connector_errors.Error):
            connection.close()

    def _run(self, sql: str, params: Params | None) -> _Result:
        bound = _bound_parameters(sql, params)
        return self._reopened_once(lambda connection: _execute(connection, sql, bound))

    def _streamed(self, sql: str, params: Params | None) -> DBAPICursor:
        """A cursor that ran the statement, its rows still to fetch."""
        bound = _bound_parameters(sql, params)
        return self._reopened_once(lambda connection: _opened(connection, sql, bound))

    def _reopened_once(self, call: Callable[[DBAPIConnection], _T]) -> _T:
        """`call` on this thread's session; a session found dropped is reopened once (the statement never ran)."""
        try:
            return call(self._connection())
        except connector_errors.Error as error:
            if not _is_dropped_session(error):
                raise SqlError(_message(error)) from error
        self._drop_connection()
        try:
            return call(self._connection())
        except connector_errors.Error as error:
            raise SqlError(_message(error)) from error

    # -- SqlEngine -------------------------------------------------------------------
    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        result = self._run(sql, params)
        return [dict(zip(result.columns, values, strict=True)) for values in result.rows]

    def query_df(self, sql: str, params: Params | None = None) -> pd.DataFrame:
        result = self._run(sql, params)
        return pd.DataFrame.from_records(result.rows, columns=result.columns)

    def stream(self, sql: str, params: Params | None = None, batch_rows: int = 10_000) -> Iterator[list[Row]]:
        """The connector fetches the result from the warehouse as it is read (cloud fetch in
        Arrow chunks). A session found dropped is reopened once, before any row is read."""
        cursor = self._streamed(sql, params)
        try:
            columns = [str(column[0]) for column in cursor.description or ()]
            while columns:
                try:
                    batch = cursor.fetchmany(batch_rows)
                except connector_errors.Error as error:
                    raise SqlError(_message(error)) from error
                if not batch:
                    break
                yield [dict(zip(columns, values, strict=True)) for values in batch]
        finally:
            with suppress(connector_errors.Error):
                cursor.close()

    def stream_arrow(self, sql: str, params: Params | None = None, batch_rows: int = 10_000) -> Iterator[pa.RecordBatch]:
        """The connector's Arrow chunks as they arrive, with no Python object per value."""
        cursor = self._streamed(sql, params)
        try:
            while True:
                try:
                    table = cursor.fetchmany_arrow(batch_rows)
                except connector_errors.Error as error:
                    raise SqlError(_message(error)) from error
                if not table.num_rows:
                    break
                yield from (batch for batch in table.to_batches() if batch.num_rows)
        finally:
            with suppress(connector_errors.Error):
                cursor.close()

    def execute(self, sql: str, params: Params | None = None) -> int:
        result = self._run(sql, params)
        if _AFFECTED_ROWS in result.columns and result.rows:
            return int(result.rows[0][result.columns.index(_AFFECTED_ROWS)] or 0)
        return max(result.rowcount, 0)

    def insert_rows(self, table: str, rows: pd.DataFrame | pa.Table) -> int:
        """Chunked multi-row INSERTs. Each chunk commits on its own; a failure leaves earlier chunks."""
        if len(rows) == 0:
            return 0
        return sum(self.execute(statement, params) for statement, params in insert_statements(table, rows))

    def close(self) -> None:
        with self._open_lock:
            connections, self._open = self._open, []
        for connection in connections:
            with suppress(connector_errors.Error):
                connection.close()
        self._local = threading.local()


def connection_arguments(client: WorkspaceClient, warehouse_id: str, user: User) -> dict[str, Any]:
    """`databricks.sql.connect` arguments: the user's token when forwarded, else the SDK's auth."""
    if not isinstance(warehouse_id, str) or not _WAREHOUSE_ID.match(warehouse_id):
        raise SqlError(
            f"{warehouse_id!r} is not a SQL warehouse id. Add a SQL warehouse resource to the app "
            "(DATABRICKS_WAREHOUSE_ID) or set it to the id shown on the warehouse's page."
        )
    config = client.config
    arguments: dict[str, Any] = {
        "server_hostname": urlparse(config.host).netloc or config.host,
        "http_path": f"/sql/1.0/warehouses/{warehouse_id}",
        # Plain Python rows (lists, datetimes, Decimals) instead of numpy ones, like the embedded engine.
        "_disable_pandas": True,
        "user_agent_entry": "vital-workbench",
    }
    if user.access_token:
        arguments["access_token"] = user.access_token
    else:
        # The SDK refreshes the service principal's OAuth token; the connector asks it per request.
        arguments["credentials_provider"] = lambda: config.authenticate
    return arguments


def insert_statements(table: str, rows: pd.DataFrame | pa.Table) -> Iterator[tuple[str, dict[str, Any]]]:
    """The multi-row `INSERT … VALUES (:p0_0, …), (…)` statements that append `rows` to `table`."""
    if not is_qualified_name(table):
        raise SqlError(f"Not a table name: {table!r}")
    if isinstance(rows, pa.Table):
        rows = rows.to_pandas()  # every value becomes a parameter anyway; a list cell arrives as an array
    columns = [str(c) for c in rows.columns]
    if not columns:
        raise SqlError(f"No columns to insert into {table}.")
    if len(columns) > MAX_PARAMETERS_PER_STATEMENT:
        raise SqlError(f"{len(columns)} columns cannot fit one row in a statement (limit {MAX_PARAMETERS_PER_STATEMENT} values).")
    try:
        column_list = ", ".join(quote(check_identifier(c, "column")) for c in columns)  # our own tables: plain names only
    except InvalidNameError as error:
        raise SqlError(str(error)) from error
    per_statement = MAX_PARAMETERS_PER_STATEMENT // len(columns)
    records = rows.itertuples(index=False, name=None)
    while chunk := list(islice(records, per_statement)):
        params: dict[str, Any] = {}
        tuples = []
        for r, record in enumerate(chunk):
            names = [f"p{r}_{c}" for c in range(len(columns))]
            params.update(zip(names, (_cell(v) for v in record), strict=True))
            tuples.append("(" + ", ".join(f":{n}" for n in names) + ")")
        yield f"INSERT INTO {table} ({column_list}) VALUES {', '.join(tuples)}", params


def bindable(value: Any) -> Any:
    """`value` as one of the plain Python types the connector knows how to type (see above)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.generic):
        return bindable(value.item())
    if isinstance(value, (int, float, datetime, date)):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise SqlError(f"{value} is not a number a DECIMAL can hold.")
        # The connector sizes DECIMAL(p,s) from the text, which must not be in exponent form.
        return Decimal(format(value, "f"))
    if isinstance(value, (list, tuple, np.ndarray)):
        return [bindable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): bindable(v) for k, v in value.items()}
    raise SqlError(f"A {type(value).__name__} cannot be sent as a SQL parameter.")


def _cell(value: Any) -> Any:
    """A DataFrame cell: pandas marks missing values with NaN/NaT/NA, SQL with NULL."""
    if not isinstance(value, (list, tuple, np.ndarray, Mapping, str)) and pd.isna(value):
        return None
    return bindable(value)


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parameter_names(sql: str) -> frozenset[str] | None:
    try:
        tree = parse_databricks(sql)
    except TranspileError:
        return None  # sqlglot is not the judge of valid Databricks SQL; the warehouse is
    return frozenset(p.name for p in tree.find_all(exp.Placeholder) if p.name)


def _bound_parameters(sql: str, params: Params | None) -> dict[str, Any]:
    """The parameters the statement uses, typed for the connector (unused ones stay home)."""
    params = params or {}
    names = _parameter_names(sql)
    if names is None:
        chosen = dict(params)
    else:
        missing = names - params.keys()
        if missing:
            raise SqlError(f"Missing SQL parameters: {', '.join(sorted(missing))}")
        chosen = {name: params[name] for name in names}
    if len(chosen) > MAX_PARAMETERS_PER_STATEMENT:
        raise SqlError(f"{len(chosen)} parameters in one statement; a warehouse binds at most {MAX_PARAMETERS_PER_STATEMENT}.")
    return {name: bindable(value) for name, value in chosen.items()}


def _execute(connection: DBAPIConnection, sql: str, params: dict[str, Any]) -> _Result:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params or None)
        columns = [str(column[0]) for column in cursor.description or ()]
        rows = [tuple(row) for row in cursor.fetchall()] if columns else []
        return _Result(columns, rows, cursor.rowcount)
    finally:
        with suppress(connector_errors.Error):
            cursor.close()


def _opened(connection: DBAPIConnection, sql: str, params: dict[str, Any]) -> DBAPICursor:
    """A cursor that ran the statement, its rows still to fetch (closed if the statement failed)."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params or None)
    except BaseException:
        with suppress(connector_errors.Error):
            cursor.close()
        raise
    return cursor


def _message(error: connector_errors.Error) -> str:
    return str(error.message or type(error).__name__)


def _is_dropped_session(error: connector_errors.Error) -> bool:
    if isinstance(error, connector_errors.InterfaceError):
        return True
    text = _message(error).lower()
    return any(marker in text for marker in _DROPPED_SESSION_MARKERS)
