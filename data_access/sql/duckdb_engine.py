"""The embedded engine: DuckDB files under WORKBENCH_HOME, one attached database per catalog.

DuckDB takes an exclusive lock on its file, so a process opens each home once and every
thread works through its own cursor on that one connection.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from data_access.sql.engine import Params, Row, SqlEngine, SqlError, WriteConflictError
from data_access.sql.transpile import is_qualified_name, to_duckdb

_SYSTEM_DATABASES = frozenset({"system", "temp", "memory"})
_METASTORE = "main"

_open_connections: dict[Path, duckdb.DuckDBPyConnection] = {}
_open_lock = threading.Lock()


class StoreUnavailableError(SqlError):
    """The local store cannot be opened: another process holds it, or its folder cannot be written."""


# DuckDB: 'Could not set lock on file "…": Conflicting lock is held in /usr/bin/python3 (PID 4242) …'
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


def _connection_for(home: Path) -> duckdb.DuckDBPyConnection:
    home = home.resolve()
    with _open_lock:
        connection = _open_connections.get(home)
        if connection is None:
            connection = _open_store(home)
            _open_connections[home] = connection
        return connection


def _open_store(home: Path) -> duckdb.DuckDBPyConnection:
    _require_writable(home)
    try:
        connection = duckdb.connect(str(home / "workbench.duckdb"))
    except duckdb.IOException as error:
        raise _unavailable(home, error) from error
    try:
        connection.execute("SET TimeZone = 'UTC'")
        # DuckDB's allocator keeps what a large statement freed (an export of 100k pairs: about
        # 200 MB) for the life of the process unless its background threads return it to the OS.
        connection.execute("SET allocator_background_threads = true")
        for catalog_file in sorted((home / "catalogs").glob("*.duckdb")):
            connection.execute(f"ATTACH '{catalog_file}' AS \"{catalog_file.stem}\"")
    except duckdb.IOException as error:
        connection.close()
        raise _unavailable(home, error) from error
    return connection


def _require_writable(home: Path) -> None:
    """DuckDB writes its file and a log beside it: a folder it cannot write fails later, mid-statement."""
    try:
        (home / "catalogs").mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=home).close()
    except OSError as error:
        raise StoreUnavailableError(
            f"The local store folder {home} cannot be written ({error.strerror or error}). "
            "Make it writable, or point WORKBENCH_HOME at a writable folder."
        ) from error


def _unavailable(home: Path, error: duckdb.IOException) -> StoreUnavailableError:
    holder = _LOCK_HOLDER.search(str(error))
    if holder is None:
        return StoreUnavailableError(f"The local store at {home} cannot be opened: {error}")
    pid = holder["pid"]
    return StoreUnavailableError(
        f"The local store at {home} is open in another process (PID {pid}: {_command_line(pid) or holder['program']}). "
        "DuckDB lets one process open a store at a time. Stop that process, or point WORKBENCH_HOME at another folder."
    )


def _command_line(pid: str) -> str | None:
    """What the process is (`streamlit run app.py`, a test run), where the system tells (Linux)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)[:200] or None


def release_home(home: Path) -> None:
    """Close the process's connection to a home (tests and demo reset use this)."""
    with _open_lock:
        connection = _open_connections.pop(home.resolve(), None)
    if connection is not None:
        connection.close()


def _engine_error(error: duckdb.Error) -> SqlError:
    # DuckDB refuses the second of two concurrent writes to a row ("write-write conflict",
    # "Conflict on tuple"), and the second of two concurrent inserts of one key with a
    # duplicate-key error: our keys that can collide are derived from what they identify
    # (a label's key, a pair's item), so that error means someone else wrote it first.
    text = str(error)
    if isinstance(error, duckdb.TransactionException) or "onflict" in text:
        return WriteConflictError(text)
    if isinstance(error, duckdb.ConstraintException) and "Duplicate key" in text:
        return WriteConflictError(text)
    return SqlError(text)


def _bindable(params: Params | None, names: frozenset[str]) -> dict[str, Any]:
    """DuckDB refuses parameters the statement does not use, so pass only the used ones."""
    if not names:
        return {}
    params = params or {}
    missing = names - params.keys()
    if missing:
        raise SqlError(f"Missing SQL parameters: {', '.join(sorted(missing))}")
    return {name: params[name] for name in names}


@lru_cache(maxsize=4096)  # as many as the transpile cache: the same bounded set of statements
def _parsed(sql: str) -> duckdb.Statement:
    """A statement parsed once: DuckDB copies it for each run, so one object serves every
    thread, and a review action's half dozen small statements skip a tenth of their cost."""
    return duckdb.extract_statements(sql)[0]


class DuckDbEngine(SqlEngine):
    dialect = "duckdb"

    def __init__(self, home: Path) -> None:
        self.home = home.resolve()
        self._connection = _connection_for(self.home)
        self._local = threading.local()

    # -- cursors ---------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._connection.cursor()
            self._local.cursor = cursor
        return cursor

    def _run(self, sql: str, params: Params | None) -> duckdb.DuckDBPyConnection:
        transpiled = to_duckdb(sql)
        cursor = self._cursor()
        try:
            cursor.execute(_parsed(transpiled.sql), _bindable(params, transpiled.parameter_names))
        except duckdb.Error as error:
            raise _engine_error(error) from error
        return cursor

    # -- SqlEngine -------------------------------------------------------------------
    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = self._run(sql, params)
        columns = [d[0] for d in cursor.description or ()]
        return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]

    def query_df(self, sql: str, params: Params | None = None) -> pd.DataFrame:
        return self._run(sql, params).df()

    def stream(self, sql: str, params: Params | None = None, batch_rows: int = 10_000) -> Iterator[list[Row]]:
        transpiled = to_duckdb(sql)
        cursor = self._connection.cursor()  # not the thread's: its statements may run between batches
        try:
            try:
                cursor.execute(transpiled.sql, _bindable(params, transpiled.parameter_names))
            except duckdb.Error as error:
                raise _engine_error(error) from error
            columns = [d[0] for d in cursor.description or ()]
            while batch := cursor.fetchmany(batch_rows):
                yield [dict(zip(columns, values, strict=True)) for values in batch]
        finally:
            cursor.close()

    def stream_arrow(self, sql: str, params: Params | None = None, batch_rows: int = 10_000) -> Iterator[pa.RecordBatch]:
        transpiled = to_duckdb(sql)
        cursor = self._connection.cursor()
        try:
            try:
                # A relation's reader streams the result; one on an executed cursor copies it whole first.
                batches = cursor.sql(transpiled.sql, params=_bindable(params, transpiled.parameter_names)).to_arrow_reader(batch_rows)
            except duckdb.Error as error:
                raise _engine_error(error) from error
            for batch in batches:
                if batch.num_rows:
                    yield batch
        finally:
            cursor.close()

    def execute(self, sql: str, params: Params | None = None) -> int:
        cursor = self._run(sql, params)
        try:
            result = cursor.fetchone()
        except duckdb.Error:
            return 0
        return int(result[0]) if result and isinstance(result[0], int) else 0

    def insert_rows(self, table: str, rows: pd.DataFrame | pa.Table) -> int:
        if len(rows) == 0:
            return 0
        if not is_qualified_name(table):
            raise SqlError(f"Not a table name: {table!r}")
        cursor = self._cursor()
        view = f"_insert_{threading.get_ident()}"
        try:
            cursor.register(view, rows)
            cursor.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
        except duckdb.Error as error:
            raise _engine_error(error) from error
        finally:
            # In a transaction the failed INSERT aborted, unregistering fails too and would hide
            # the INSERT's error (a write conflict the caller handles); the next insert replaces the view.
            with suppress(duckdb.Error):
                cursor.unregister(view)
        return len(rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        cursor = self._cursor()
        if getattr(self._local, "in_transaction", False):
            yield
            return
        cursor.execute("BEGIN TRANSACTION")
        self._local.in_transaction = True
        try:
            yield
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        else:
            try:
                cursor.execute("COMMIT")
            except duckdb.Error as error:
                raise _engine_error(error) from error
        finally:
            self._local.in_transaction = False

    # -- the local metastore: catalogs are attached files ----------------------------
    def ensure_catalog(self, catalog: str) -> None:
        if not is_qualified_name(catalog) or "." in catalog:
            raise SqlError(f"Not a catalog name: {catalog!r}")
        if catalog in self.attached_catalogs():
            return
        path = self.home / "catalogs" / f"{catalog}.duckdb"
        with _open_lock:
            if catalog not in self.attached_catalogs():
                try:
                    self._connection.execute(f"ATTACH '{path}' AS \"{catalog}\"")
                except duckdb.IOException as error:
                    raise _unavailable(self.home, error) from error

    def attached_catalogs(self) -> list[str]:
        rows = self._cursor().execute("SELECT database_name FROM duckdb_databases()").fetchall()
        return sorted(r[0] for r in rows if r[0] not in _SYSTEM_DATABASES and r[0] != _METASTORE)

    def raw(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """DuckDB's own dialect, for the local metastore only (information_schema, tags)."""
        try:
            return self._cursor().execute(sql, params or []).fetchall()
        except duckdb.Error as error:
            raise SqlError(str(error)) from error

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The process's connection to this store, for registering functions on it."""
        return self._connection

    @property
    def metastore(self) -> str:
        return _METASTORE
