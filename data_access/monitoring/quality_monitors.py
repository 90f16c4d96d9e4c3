"""Data quality monitors on Databricks (`w.data_quality`; the older `quality_monitors` API is
deprecated): an inference-log profile on a Unity Catalog table of predictions, so Databricks
computes its profile and drift metrics on a schedule and draws its dashboard.

The API names the table by its Unity Catalog table id and the output schema by schema id, so
both are looked up first. Creating a monitor a table already has is not an error here: the
existing one is returned (a person pressing the button twice gets the same monitor)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from data_access.databricks_client import LazyWorkspace

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.dataquality import Monitor

# Profiles per hour and per day: an endpoint's day shows its hours, a month its days.
GRANULARITIES = ("AGGREGATION_GRANULARITY_1_HOUR", "AGGREGATION_GRANULARITY_1_DAY")


class QualityMonitorError(Exception):
    """The workspace refused the monitor (permissions, a missing table or column); the message says why."""


@dataclass(frozen=True)
class InferenceMonitorSpec:
    table: str  # catalog.schema.table of predictions
    output_schema: str  # catalog.schema the metric tables go to
    timestamp_column: str
    model_id_column: str
    prediction_column: str
    label_column: str | None = None
    warehouse_id: str | None = None  # for the dashboard; None: the workspace's first running warehouse


@dataclass(frozen=True)
class QualityMonitorState:
    table: str
    status: str  # the service's words without its prefix: PENDING, ACTIVE, ERROR, FAILED, DELETE_PENDING
    dashboard_id: str | None
    profile_metrics_table: str | None
    drift_metrics_table: str | None
    failure: str | None


class QualityMonitors(ABC):
    @abstractmethod
    def create_classification_monitor(self, spec: InferenceMonitorSpec) -> QualityMonitorState:
        """A classification inference-log monitor on the spec's table, or the one it already has."""

    @abstractmethod
    def state(self, table: str) -> QualityMonitorState | None:
        """The table's monitor, or None when it has none."""


def _state(table: str, monitor: Monitor) -> QualityMonitorState:
    config = monitor.data_profiling_config
    status = config.status.value.removeprefix("DATA_PROFILING_STATUS_") if config and config.status else "UNKNOWN"
    return QualityMonitorState(
        table, status, config.dashboard_id if config else None, config.profile_metrics_table_name if config else None,
        config.drift_metrics_table_name if config else None, config.latest_monitor_failure_message if config else None,
    )


class DatabricksQualityMonitors(QualityMonitors):
    def __init__(self, client_factory: Callable[[], WorkspaceClient]) -> None:
        self._workspace = LazyWorkspace(client_factory)

    def create_classification_monitor(self, spec: InferenceMonitorSpec) -> QualityMonitorState:
        from databricks.sdk.errors import DatabricksError, ResourceAlreadyExists
        from databricks.sdk.service.dataquality import (
            AggregationGranularity,
            DataProfilingConfig,
            InferenceLogConfig,
            InferenceProblemType,
            Monitor,
        )

        w = self._workspace()
        try:
            table_id = w.tables.get(spec.table).table_id
            schema_id = w.schemas.get(spec.output_schema).schema_id
            profile = InferenceLogConfig(
                problem_type=InferenceProblemType.INFERENCE_PROBLEM_TYPE_CLASSIFICATION, timestamp_column=spec.timestamp_column,
                granularities=[AggregationGranularity(g) for g in GRANULARITIES], prediction_column=spec.prediction_column,
                model_id_column=spec.model_id_column, label_column=spec.label_column,
            )
            config = DataProfilingConfig(output_schema_id=schema_id, inference_log=profile, warehouse_id=spec.warehouse_id)
            try:
                created = w.data_quality.create_monitor(Monitor(object_type="table", object_id=table_id, data_profiling_config=config))
            except ResourceAlreadyExists:
                created = w.data_quality.get_monitor("table", table_id)
        except DatabricksError as error:
            raise QualityMonitorError(f"Databricks refused the data quality monitor on {spec.table}: {error}") from error
        return _state(spec.table, created)

    def state(self, table: str) -> QualityMonitorState | None:
        from databricks.sdk.errors import DatabricksError, NotFound

        w = self._workspace()
        try:
            table_id = w.tables.get(table).table_id
            return _state(table, w.data_quality.get_monitor("table", table_id))
        except NotFound:
            return None
        except DatabricksError as error:
            raise QualityMonitorError(f"Could not read the data quality monitor of {table}: {error}") from error
