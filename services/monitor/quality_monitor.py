"""A Databricks data quality monitor for a classification endpoint.

The AI Gateway's inference table (`<prefix>_payload`) keeps each request and response as JSON
text; an inference-log profile needs a prediction column. So the workbench keeps a Delta table
beside it, `<prefix>_predictions`: one row per answered request (time, request id, the served
entity that answered, status, duration) with the class the model predicted, read from the
answer's JSON at the template's classification field. Each refresh appends, in one statement,
the answers newer than the table's latest. The monitor (Databricks computes profiles and drift
per hour and per day and draws its dashboard) watches that table, one model per served entity.

A classification endpoint is one whose template's output schema has a field with choices."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.monitoring.quality_monitors import (
    DatabricksQualityMonitors,
    InferenceMonitorSpec,
    QualityMonitorError,
    QualityMonitors,
    QualityMonitorState,
)
from data_access.sql.names import InvalidNameError, TableName
from services.core.domain.template import SchemaField
from services.core.errors import NotFoundError, ValidationError, WorkbenchError
from services.core.workbench import Workbench
from services.deploy.model_serving import ServingEndpointRecord, serving_endpoints
from services.deploy.records import DeploymentStatus
from services.templates.prompt_templates import TemplateService

PAYLOAD_SUFFIX = "_payload"  # how the AI Gateway names its inference table
PREDICTIONS_SUFFIX = "_predictions"
TIMESTAMP_COLUMN = "request_time"
MODEL_ID_COLUMN = "served_entity_id"  # an A/B split's two versions are two served entities: profiled apart
PREDICTION_COLUMN = "prediction"
ANSWERED = 200  # a refused or failed request predicted nothing


class MonitorRefusedError(WorkbenchError):
    """The workspace refused the monitor or its reading (permissions, a missing table); nothing changed there."""


def quality_monitors(workbench: Workbench) -> QualityMonitors:
    """Data quality monitors in the workspace, acting as the person using the app."""
    from data_access.databricks_client import workspace_client

    user = workbench.user
    return DatabricksQualityMonitors(lambda: workspace_client(user))


@dataclass(frozen=True)
class ClassificationEndpoint:
    endpoint_name: str
    payload_table: TableName
    predictions_table: TableName
    field: SchemaField

    @property
    def json_path(self) -> str:
        return f"$.{self.field.name}"


def _classification_field(schema: tuple[SchemaField, ...]) -> SchemaField | None:
    return next((f for f in schema if f.choices), None)


class QualityMonitorService:
    def __init__(self, workbench: Workbench, monitors: QualityMonitors) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._monitors = monitors

    def classification_endpoints(self) -> list[ClassificationEndpoint]:
        """The ready Model Serving endpoints a monitor can watch (with an inference table and a classification field)."""
        found = []
        for record in serving_endpoints(self._wb):
            if record.deployment.status is DeploymentStatus.READY:
                try:
                    found.append(self._classification(record))
                except ValidationError:
                    continue
        return found

    def endpoint(self, endpoint_name: str) -> ClassificationEndpoint:
        """The endpoint's tables and classification field; NotFoundError or ValidationError says why it has none."""
        record = next((r for r in serving_endpoints(self._wb) if r.deployment.endpoint_name == endpoint_name
                       and r.deployment.status is DeploymentStatus.READY), None)
        if record is None:
            raise NotFoundError(f"No Model Serving endpoint named {endpoint_name} is deployed from this workbench.")
        return self._classification(record)

    def _classification(self, record: ServingEndpointRecord) -> ClassificationEndpoint:
        name = record.deployment.endpoint_name
        if not record.inference_table or not record.inference_table.endswith(PAYLOAD_SUFFIX):
            raise ValidationError(f"Endpoint {name} has no AI Gateway inference table to monitor; deploy it again from DEPLOY.")
        template = TemplateService(self._wb).find(record.deployment.template_id)
        field = _classification_field(template.output_schema) if template else None
        if field is None:
            raise ValidationError(f"Endpoint {name} is not a classification endpoint: its template's output has no field with choices.")
        try:
            payload = TableName.parse(record.inference_table)
        except InvalidNameError as error:
            raise ValidationError(f"Endpoint {name}'s inference table has an unusable name: {error}") from None
        predictions = TableName(payload.catalog, payload.schema, payload.table.removesuffix(PAYLOAD_SUFFIX) + PREDICTIONS_SUFFIX)
        return ClassificationEndpoint(name, payload, predictions, field)

    def refresh_predictions(self, endpoint: ClassificationEndpoint) -> int:
        """Append the answers logged since the table's latest; returns how many rows were added."""
        self._engine.execute(
            f"CREATE TABLE IF NOT EXISTS {endpoint.predictions_table.quoted} (request_time TIMESTAMP, databricks_request_id STRING, "
            "served_entity_id STRING, status_code INT, execution_duration_ms BIGINT, prediction STRING)"
        )
        return self._engine.execute(
            f"INSERT INTO {endpoint.predictions_table.quoted} SELECT request_time, databricks_request_id, served_entity_id, "
            "status_code, execution_duration_ms, get_json_object(get_json_object(response, '$.predictions[0]'), :path) AS prediction "
            f"FROM {endpoint.payload_table.quoted} WHERE status_code = :answered AND request_time > "
            f"(SELECT coalesce(max(request_time), TIMESTAMP '1970-01-01 00:00:00') FROM {endpoint.predictions_table.quoted})",
            {"path": endpoint.json_path, "answered": ANSWERED},
        )

    def create_monitor(self, endpoint_name: str) -> QualityMonitorState:
        """Bring the endpoint's predictions up to date and monitor them (or return the monitor it has)."""
        endpoint = self.endpoint(endpoint_name)
        self.refresh_predictions(endpoint)
        table = endpoint.predictions_table
        spec = InferenceMonitorSpec(
            table=str(table), output_schema=f"{table.catalog}.{table.schema}", timestamp_column=TIMESTAMP_COLUMN,
            model_id_column=MODEL_ID_COLUMN, prediction_column=PREDICTION_COLUMN, warehouse_id=self._wb.settings.warehouse_id or None,
        )
        try:
            return self._monitors.create_classification_monitor(spec)
        except QualityMonitorError as error:
            raise MonitorRefusedError(str(error)) from error

    def state(self, endpoint_name: str) -> QualityMonitorState | None:
        try:
            return self._monitors.state(str(self.endpoint(endpoint_name).predictions_table))
        except QualityMonitorError as error:
            raise MonitorRefusedError(str(error)) from error
