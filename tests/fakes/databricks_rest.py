"""A loopback Databricks workspace REST server for the real databricks-sdk to talk to.

It serves what the SDK's Files API (`client.files`, including its presigned-download path),
the Unity Catalog APIs (catalogs, schemas, tables, volumes, entity tag assignments) and the Jobs
API's one-time runs (`jobs.submit`, `get_run`, `cancel_run`), Vector Search direct indexes
(`self.vector_search`, tests/fakes/vector_search.py) and Model Serving endpoints
(`self.serving`, tests/fakes/serving_endpoints.py) and data quality monitors (`self.data_quality`,
tests/fakes/data_quality.py) request, with the state in plain dicts. A submitted run does nothing by itself: a test plays the compute with `on_run_submitted`
(called in its own thread) and `set_run_state`, as Databricks would move the run along. It listens on 127.0.0.1 on a free port, in a daemon thread,
stops in fixture teardown, and stops itself after MAX_LIFETIME_SECONDS should teardown not run.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from tests.fakes.dbapi_fake import FakeWarehouse

MAX_LIFETIME_SECONDS = 300  # a test run never needs a server longer than this
MAX_UPLOAD_BYTES = 32 * 1024 * 1024  # the SDK sends files below 50 MB in one PUT
DIRECTORY_PAGE_SIZE = 1000
_POLL_SECONDS = 0.05  # how soon shutdown() is noticed; the default 0.5 s slows every teardown

_FILES = "/api/2.0/fs/files"
_DIRECTORIES = "/api/2.0/fs/directories"
_UC = "/api/2.1/unity-catalog"
_TAGS = f"{_UC}/entity-tag-assignments/"
_PRESIGNED = "/presigned"
_RUNS = "/api/2.2/jobs/runs"
# Task kinds of a one-time run; a task names exactly one.
_TASK_KINDS = ("spark_python_task", "notebook_task", "python_wheel_task", "ai_runtime_task", "sql_task", "run_job_task")
_TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")

# DuckDB type names as Unity Catalog spells them in `type_text`.
_TYPE_TEXT = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMP": "timestamp_ntz",
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    token: str | None
    body_bytes: int = 0


@dataclass
class StoredFile:
    data: bytes
    modified: float = field(default_factory=time.time)


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _not_found(what: str) -> HttpError:
    return HttpError(404, "NOT_FOUND", f"{what} does not exist.")


class FakeDatabricksRest:
    def __init__(self) -> None:
        self.catalogs: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, dict[str, Any]] = {}
        self.tables: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.tags: dict[tuple[str, str], dict[str, str]] = {}
        self.files: dict[str, StoredFile] = {}
        self.denied: set[str] = set()
        self.requests: list[RecordedRequest] = []
        self.job_runs: dict[int, dict[str, Any]] = {}
        self.on_run_submitted: Callable[[FakeDatabricksRest, int, dict[str, Any]], None] | None = None
        from tests.fakes.serving_endpoints import FakeServing  # it builds on this module's errors

        self.serving = FakeServing(lambda: self.url)
        from tests.fakes.vector_search import FakeVectorSearch

        self.vector_search = FakeVectorSearch()
        from tests.fakes.data_quality import FakeDataQuality

        self.data_quality = FakeDataQuality(lambda: self.tables, lambda: self.schemas)
        self._live_warehouse: FakeWarehouse | None = None
        self._idempotency: dict[str, int] = {}
        self._signatures: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(_POLL_SECONDS,), name="fake-databricks-rest", daemon=True)
        self._deadline = threading.Timer(MAX_LIFETIME_SECONDS, self.stop)
        self._deadline.daemon = True

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeDatabricksRest:
        self._thread.start()
        self._deadline.start()
        return self

    def stop(self) -> None:
        self._deadline.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeDatabricksRest:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def client(self, token: str = "test-token") -> WorkspaceClient:
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient(host=self.url, token=token, auth_type="pat")

    # -- seeding -------------------------------------------------------------------------
    def add_catalog(self, name: str) -> None:
        self.catalogs.setdefault(name, {"name": name, "full_name": name})

    def add_schema(self, catalog: str, schema: str) -> None:
        self.add_catalog(catalog)
        full_name = f"{catalog}.{schema}"
        self.schemas.setdefault(full_name, {"name": schema, "catalog_name": catalog, "full_name": full_name,
                                            "schema_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"schema:{full_name}"))})

    def add_table(self, full_name: str, columns: list[tuple[str, str]], table_type: str = "MANAGED", comment: str | None = None) -> None:
        catalog, schema, name = full_name.split(".")
        self.add_schema(catalog, schema)
        self.tables[full_name] = {
            "name": name,
            "catalog_name": catalog,
            "schema_name": schema,
            "full_name": full_name,
            "table_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"table:{full_name}")),
            "table_type": table_type,
            "comment": comment,
            "columns": [{"name": c, "type_text": t, "position": i, "nullable": True} for i, (c, t) in enumerate(columns)],
        }

    def add_volume(self, full_name: str, volume_type: str = "MANAGED") -> None:
        catalog, schema, name = full_name.split(".")
        self.add_schema(catalog, schema)
        self.volumes[full_name] = {"name": name, "catalog_name": catalog, "schema_name": schema, "full_name": full_name, "volume_type": volume_type}

    def sync_tables_from(self, warehouse: FakeWarehouse) -> None:
        """Publish the warehouse's tables here, as Unity Catalog shows what a warehouse created."""
        rows = warehouse.database.execute(
            "SELECT c.table_catalog, c.table_schema, c.table_name, c.column_name, c.data_type, t.table_type "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "USING (table_catalog, table_schema, table_name) WHERE c.table_catalog IN "
            f"({', '.join('?' for _ in warehouse.catalogs)}) ORDER BY 1, 2, 3, c.ordinal_position",
            list(warehouse.catalogs),
        ).fetchall()
        columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for catalog, schema, table, column, data_type, kind in rows:
            columns.setdefault((f"{catalog}.{schema}.{table}", kind), []).append((column, _type_text(data_type)))
        for (full_name, kind), table_columns in columns.items():
            self.add_table(full_name, table_columns, "VIEW" if "VIEW" in kind else "MANAGED")

    def publish_tables_of(self, warehouse: FakeWarehouse) -> None:
        """From now on, every Unity Catalog read first publishes the warehouse's tables (a table a
        statement created is at once visible to the API, as in a workspace)."""
        self._live_warehouse = warehouse

    def put_file(self, path: str, data: bytes) -> None:
        """A file written by something other than the API (a job writing through its /Volumes mount)."""
        with self._lock:
            self.files[path] = StoredFile(data)

    def stored_files(self) -> dict[str, StoredFile]:
        """Every file the workspace holds, by path (for fakes that read volumes, like read_files)."""
        with self._lock:
            return dict(self.files)

    def file_text(self, path: str) -> str | None:
        with self._lock:
            stored = self.files.get(path)
        return stored.data.decode() if stored else None

    def set_run_state(self, run_id: int, life_cycle_state: str, result_state: str | None = None, message: str = "") -> None:
        """Move a run along, as the compute running it would."""
        with self._lock:
            run = self.job_runs[run_id]
            if run["state"]["life_cycle_state"] in _TERMINAL:
                return  # a finished run (say, cancelled meanwhile) stays finished
            run["state"] = {"life_cycle_state": life_cycle_state, "state_message": message}
            if result_state:
                run["state"]["result_state"] = result_state
            run["status"] = {"state": life_cycle_state}

    def deny(self, resource: str) -> None:
        """Answer 403 for a file path or securable full name starting with `resource`."""
        self.denied.add(resource)

    def requests_for(self, resource: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if resource in r.path]

    # -- request handling (called from the server's threads) -------------------------
    def handle(self, method: str, url: str, token: str | None, body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        path, query = unquote(parts.path), {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(RecordedRequest(method, path, token, len(body or b"")))
            if path.startswith(_PRESIGNED):
                return self._presigned(path[len(_PRESIGNED) :], query)
            if path == "/.well-known/databricks-config":
                return _json(200, {})
            if token is None:
                raise HttpError(401, "UNAUTHENTICATED", "No access token was sent.")
            if path.startswith(_FILES + "/"):
                return self._file(method, path[len(_FILES) :], query, body)
            if path.startswith(_DIRECTORIES + "/"):
                return self._directory(path[len(_DIRECTORIES) :], query)
            if path == "/api/2.0/fs/create-download-url" and method == "POST":
                return self._download_url(query.get("path", ""))
            if path.startswith(_RUNS + "/"):
                status, headers, payload, submitted = self._runs(method, path[len(_RUNS) + 1 :], query, body)
                if submitted is not None and self.on_run_submitted is not None:
                    threading.Thread(target=self.on_run_submitted, args=(self, *submitted), name="fake-job-run", daemon=True).start()
                return status, headers, payload
            if path.startswith(_TAGS) or (path == _TAGS.rstrip("/") and method == "POST"):
                return self._tag(method, path[len(_TAGS) :], query, body)
            if path.startswith(_UC + "/") and method == "GET":
                return self._unity_catalog(path[len(_UC) + 1 :], query)
            if path.startswith("/api/2.0/vector-search/"):
                found = self.vector_search.handle(method, path, parse_qs(parts.query), body)
                if found is not None:
                    return found
            if path.startswith("/api/data-quality/v1/"):
                found = self.data_quality.handle(method, path, body)
                if found is not None:
                    return found
            if path.startswith(("/api/2.0/serving-endpoints", "/serving-endpoints/")):
                served = self.serving.handle(method, path, body)
                if served is not None:
                    return served
        raise HttpError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'.")

    def _check_access(self, resource: str) -> None:
        if any(resource.startswith(denied) for denied in self.denied):
            raise HttpError(403, "PERMISSION_DENIED", f"User does not have permission on {resource}.")

    # files ---------------------------------------------------------------------------
    def _volume_of(self, path: str) -> str | None:
        parts = path.strip("/").split("/")
        if len(parts) < 4 or parts[0] != "Volumes":
            return None
        full_name = ".".join(parts[1:4])
        return full_name if full_name in self.volumes else None

    def _file(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        self._check_access(path)
        if method == "PUT":
            if self._volume_of(path) is None:
                raise _not_found(f"The volume of {path}")
            if path in self.files and query.get("overwrite", "false").lower() != "true":
                raise HttpError(409, "ALREADY_EXISTS", f"{path} already exists.")
            self.files[path] = StoredFile(body)
            return 204, {}, b""
        stored = self.files.get(path)
        if stored is None:
            raise _not_found(path)
        if method == "HEAD":
            return 200, _file_headers(stored), b""
        if method == "GET":
            return 200, _file_headers(stored), stored.data
        if method == "DELETE":
            del self.files[path]
            return 204, {}, b""
        raise HttpError(405, "BAD_REQUEST", f"{method} is not supported on files.")

    def _download_url(self, path: str) -> tuple[int, dict[str, str], bytes]:
        self._check_access(path)
        if path not in self.files:
            raise _not_found(path)
        signature = secrets.token_hex(8)
        self._signatures[signature] = path
        url = f"{self.url}{_PRESIGNED}{quote(path)}?signature={signature}"
        return _json(200, {"url": url, "headers": [{"name": "x-fake-signed", "value": "1"}]})

    def _presigned(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self._signatures.get(query.get("signature", "")) != path:
            raise HttpError(403, "PERMISSION_DENIED", "Bad signature.")
        stored = self.files.get(path)
        if stored is None:
            raise _not_found(path)
        return 200, _file_headers(stored), stored.data

    def _directory(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self._check_access(path)
        base = path.rstrip("/")
        prefix = base + "/"
        volume = self._volume_of(base + "/x")
        children: dict[str, dict[str, Any]] = {}
        for file_path, stored in self.files.items():
            if not file_path.startswith(prefix):
                continue
            name, _, rest = file_path[len(prefix) :].partition("/")
            if rest:
                children.setdefault(name, {"path": f"{prefix}{name}/", "name": name, "is_directory": True})
            else:
                children[name] = {"path": file_path, "name": name, "is_directory": False, "file_size": len(stored.data), "last_modified": int(stored.modified * 1000)}
        is_volume_root = volume is not None and base.count("/") == 4
        if not children and not is_volume_root:
            raise _not_found(f"Directory {base}")
        entries = [children[name] for name in sorted(children)]
        start = int(query.get("page_token") or 0)
        size = int(query.get("page_size") or DIRECTORY_PAGE_SIZE)
        page: dict[str, Any] = {"contents": entries[start : start + size]}
        if start + size < len(entries):
            page["next_page_token"] = str(start + size)
        return _json(200, page)

    # unity catalog -----------------------------------------------------------------------
    def _unity_catalog(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self._live_warehouse is not None:
            self.sync_tables_from(self._live_warehouse)
        collection, _, name = path.partition("/")
        if collection == "catalogs" and not name:
            return _json(200, {"catalogs": list(self.catalogs.values())})
        if collection == "schemas" and not name:
            catalog = query.get("catalog_name", "")
            self._check_access(catalog)
            if catalog not in self.catalogs:
                raise _not_found(f"Catalog '{catalog}'")
            return _json(200, {"schemas": [s for s in self.schemas.values() if s["catalog_name"] == catalog]})
        if collection in ("tables", "volumes") and not name:
            schema = f"{query.get('catalog_name', '')}.{query.get('schema_name', '')}"
            self._check_access(schema)
            if schema not in self.schemas:
                raise _not_found(f"Schema '{schema}'")
            store = self.tables if collection == "tables" else self.volumes
            found = [dict(v) for k, v in store.items() if k.rsplit(".", 1)[0] == schema]
            if query.get("omit_columns") == "true":
                found = [{k: v for k, v in item.items() if k != "columns"} for item in found]
            return _json(200, {collection: found})
        if collection == "schemas" and name:
            self._check_access(name)
            if name not in self.schemas:
                raise _not_found(f"Schema '{name}'")
            return _json(200, self.schemas[name])
        if collection == "tables" and name:
            self._check_access(name)
            if name not in self.tables:
                raise _not_found(f"Table '{name}'")
            return _json(200, self.tables[name])
        raise HttpError(404, "ENDPOINT_NOT_FOUND", f"No API found for 'GET {_UC}/{path}'.")

    def _tag(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if method == "POST":
            assignment = json.loads(body or b"{}")
            entity, key = (assignment.get("entity_type", ""), assignment.get("entity_name", "")), assignment.get("tag_key", "")
        else:
            entity_type, _, rest = path.partition("/")
            entity_name, _, rest = rest.partition("/tags")
            entity, key = (entity_type, entity_name), rest.strip("/")
        self._check_access(entity[1])
        if entity[0] != "tables" or entity[1] not in self.tables:
            raise _not_found(f"{entity[0]} '{entity[1]}'")
        tags = self.tags.setdefault(entity, {})
        if method == "GET" and not key:
            listed = [{"entity_type": entity[0], "entity_name": entity[1], "tag_key": k, "tag_value": v} for k, v in sorted(tags.items())]
            return _json(200, {"tag_assignments": listed})
        if method == "POST":
            if key in tags:
                raise HttpError(409, "RESOURCE_ALREADY_EXISTS", f"Tag {key} is already assigned to {entity[1]}.")
            tags[key] = assignment.get("tag_value", "")
        elif method == "PATCH":
            if key not in tags:
                raise _not_found(f"Tag {key} on {entity[1]}")
            if "tag_value" in query.get("update_mask", "").split(","):
                tags[key] = json.loads(body or b"{}").get("tag_value", "")
        elif method == "DELETE":
            if tags.pop(key, None) is None:
                raise _not_found(f"Tag {key} on {entity[1]}")
            return _json(200, {})
        elif key not in tags:
            raise _not_found(f"Tag {key} on {entity[1]}")
        return _json(200, {"entity_type": entity[0], "entity_name": entity[1], "tag_key": key, "tag_value": tags[key]})


    # jobs: one-time runs ------------------------------------------------------------------
    def _runs(self, method: str, action: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes, tuple[int, dict[str, Any]] | None]:
        if action == "submit" and method == "POST":
            request = json.loads(body or b"{}")
            token = request.get("idempotency_token")
            if token and token in self._idempotency:
                return (*_json(200, {"run_id": self._idempotency[token]}), None)
            run_id = self._submit(request)
            if token:
                self._idempotency[token] = run_id
            return (*_json(200, {"run_id": run_id}), (run_id, request))
        if action == "get" and method == "GET":
            run = self.job_runs.get(int(query.get("run_id") or 0))
            if run is None:
                raise HttpError(400, "INVALID_PARAMETER_VALUE", f"Run {query.get('run_id')} does not exist.")
            return (*_json(200, {k: v for k, v in run.items() if k != "request"}), None)
        if action == "cancel" and method == "POST":
            run_id = int(json.loads(body or b"{}").get("run_id") or 0)
            run = self.job_runs.get(run_id)
            if run is None:
                raise HttpError(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")
            if run["state"]["life_cycle_state"] not in _TERMINAL:
                run["state"] = {"life_cycle_state": "TERMINATED", "result_state": "CANCELED", "state_message": "Run cancelled.",
                                "user_cancelled_or_timedout": True}
                run["status"] = {"state": "TERMINATED"}
            return (*_json(200, {}), None)
        raise HttpError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {_RUNS}/{action}'.")

    def _submit(self, request: dict[str, Any]) -> int:
        """Checks what the Jobs API checks at submission; a missing script fails the run, as on Databricks."""
        tasks = request.get("tasks") or []
        if not tasks:
            raise HttpError(400, "INVALID_PARAMETER_VALUE", "A run needs at least one task.")
        environments = {e.get("environment_key") for e in request.get("environments") or []}
        message = ""
        for task in tasks:
            kinds = [k for k in _TASK_KINDS if k in task]
            if not task.get("task_key") or len(kinds) != 1:
                raise HttpError(400, "INVALID_PARAMETER_VALUE", "Each task needs a task_key and exactly one task type.")
            if task.get("environment_key") and task["environment_key"] not in environments:
                raise HttpError(400, "INVALID_PARAMETER_VALUE", f"Environment {task['environment_key']} is not defined.")
            script = task.get("spark_python_task", {}).get("python_file", "")
            if script.startswith("/Volumes/") and script not in self.files:
                message = f"{script} does not exist."
        run_id = len(self.job_runs) + 1
        state = {"life_cycle_state": "INTERNAL_ERROR", "result_state": "FAILED", "state_message": message} if message else {
            "life_cycle_state": "PENDING", "state_message": "Waiting for compute"}
        self.job_runs[run_id] = {
            "run_id": run_id, "run_name": request.get("run_name", "Untitled"), "state": state,
            "status": {"state": state["life_cycle_state"]}, "tasks": [{"task_key": t["task_key"]} for t in tasks], "request": request,
        }
        return run_id


def _type_text(duckdb_type: str) -> str:
    if duckdb_type.endswith("[]"):
        return f"array<{_type_text(duckdb_type[:-2])}>"
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.lower()
    return _TYPE_TEXT.get(duckdb_type, duckdb_type.lower())


def _file_headers(stored: StoredFile) -> dict[str, str]:
    return {
        "Content-Type": "application/octet-stream",
        "Content-Length": str(len(stored.data)),
        "Last-Modified": formatdate(stored.modified, usegmt=True),
    }


def _json(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return status, {"Content-Type": "application/json", "Content-Length": str(len(body))}, body


def _handler_for(fake: FakeDatabricksRest) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_UPLOAD_BYTES:
                self._reply(413, {}, json.dumps({"error_code": "RESOURCE_EXHAUSTED", "message": "Request too large."}).encode())
                return
            body = self.rfile.read(length) if length else b""
            authorization = self.headers.get("Authorization", "")
            token = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else None
            try:
                status, headers, payload = fake.handle(self.command, self.path, token, body)
            except HttpError as error:
                status, headers, payload = _json(error.status, {"error_code": error.code, "message": error.message})
            self._reply(status, headers, payload)

        def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD" and payload:
                self.wfile.write(payload)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test report is where failures show."""

    return Handler


def point_app_identity_at(monkeypatch, home, url: str) -> None:
    """The app's own identity in the environment (a PAT), as a Databricks App gets it, aimed at
    `url`; nothing from the machine (~/.databrickscfg, OAuth variables) leaks in."""
    for name in ("DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_AUTH_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DATABRICKS_HOST", url)
    monkeypatch.setenv("DATABRICKS_TOKEN", "app-token")
