"""Data quality monitors as the loopback workspace (tests/fakes/databricks_rest.py) serves them.

The routes `w.data_quality` calls for monitors: create (`POST /api/data-quality/v1/monitors`),
get and delete (`/api/data-quality/v1/monitors/{object_type}/{object_id}`). Like the service, a
table monitor names its table by Unity Catalog table id and its output schema by schema id,
carries exactly one profile (inference log, snapshot or time series), and an inference-log
profile names columns the table has; a second monitor on a table is refused (409). A new monitor
answers PENDING, with the metric tables and dashboard the service would create for it, and reads
ACTIVE from the next get on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from tests.fakes.databricks_rest import HttpError, _json

MONITORS = "/api/data-quality/v1/monitors"
_PROFILES = ("inference_log", "snapshot", "time_series")
_INFERENCE_REQUIRED = ("problem_type", "timestamp_column", "granularities", "prediction_column", "model_id_column")


def _invalid(message: str) -> HttpError:
    return HttpError(400, "INVALID_PARAMETER_VALUE", message)


class FakeDataQuality:
    def __init__(self, tables: Callable[[], dict[str, dict[str, Any]]], schemas: Callable[[], dict[str, dict[str, Any]]]) -> None:
        self._tables = tables
        self._schemas = schemas
        self.monitors: dict[tuple[str, str], dict[str, Any]] = {}

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        if path == MONITORS and method == "POST":
            return _json(200, self._create(json.loads(body or b"{}")))
        if path.startswith(MONITORS + "/"):
            object_type, _, object_id = path[len(MONITORS) + 1 :].partition("/")
            key = (object_type, object_id)
            if key not in self.monitors:
                raise HttpError(404, "NOT_FOUND", f"Monitor for {object_type} {object_id} does not exist.")
            if method == "GET":
                monitor = self.monitors[key]
                monitor["data_profiling_config"]["status"] = "DATA_PROFILING_STATUS_ACTIVE"
                return _json(200, monitor)
            if method == "DELETE":
                del self.monitors[key]
                return _json(200, {})
        return None

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        object_type, object_id = request.get("object_type"), request.get("object_id")
        if object_type != "table":
            raise _invalid("This fake monitors tables; a schema monitor takes anomaly_detection_config.")
        table = next((t for t in self._tables().values() if t.get("table_id") == object_id), None)
        if table is None:
            raise HttpError(404, "NOT_FOUND", f"Table {object_id} does not exist.")
        if (object_type, object_id) in self.monitors:
            raise HttpError(409, "RESOURCE_ALREADY_EXISTS", f"Monitor for table {table['full_name']} already exists.")
        config = dict(request.get("data_profiling_config") or {})
        if not config:
            raise _invalid("A table monitor needs data_profiling_config.")
        schema = next((s for s in self._schemas().values() if s.get("schema_id") == config.get("output_schema_id")), None)
        if schema is None:
            raise HttpError(404, "NOT_FOUND", f"Output schema {config.get('output_schema_id')} does not exist.")
        profiles = [p for p in _PROFILES if config.get(p)]
        if len(profiles) != 1:
            raise _invalid("Exactly one of inference_log, snapshot or time_series must be set.")
        if profiles == ["inference_log"]:
            self._check_inference_log(config["inference_log"], {c["name"] for c in table["columns"]})
        short = table["name"]
        config.update({
            "monitored_table_name": table["full_name"], "status": "DATA_PROFILING_STATUS_PENDING", "monitor_version": 1,
            "profile_metrics_table_name": f"{schema['full_name']}.{short}_profile_metrics",
            "drift_metrics_table_name": f"{schema['full_name']}.{short}_drift_metrics",
            "dashboard_id": uuid.uuid4().hex, "effective_warehouse_id": config.get("warehouse_id") or "first-running-warehouse",
        })
        monitor = {"object_type": object_type, "object_id": object_id, "data_profiling_config": config}
        self.monitors[(object_type, object_id)] = monitor
        return monitor

    @staticmethod
    def _check_inference_log(profile: dict[str, Any], columns: set[str]) -> None:
        missing = [f for f in _INFERENCE_REQUIRED if not profile.get(f)]
        if missing:
            raise _invalid(f"inference_log needs {', '.join(missing)}.")
        if profile["problem_type"] not in ("INFERENCE_PROBLEM_TYPE_CLASSIFICATION", "INFERENCE_PROBLEM_TYPE_REGRESSION"):
            raise _invalid(f"Unknown problem_type {profile['problem_type']}.")
        named = [profile[f] for f in ("timestamp_column", "prediction_column", "model_id_column", "label_column") if profile.get(f)]
        absent = [c for c in named if c not in columns]
        if absent:
            raise _invalid(f"Column(s) {', '.join(absent)} not found in the monitored table.")
