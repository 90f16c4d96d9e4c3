"""A data quality monitor for a classification endpoint on Databricks: the predictions table is
filled from the AI Gateway inference table through the warehouse (the DB-API fake), and the
monitor created through the real databricks-sdk (`w.data_quality`) against the loopback workspace."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from data_access.backends import Backend
from data_access.catalog.databricks_browser import DatabricksCatalogBrowser
from data_access.identity import User
from data_access.monitoring.quality_monitors import DatabricksQualityMonitors, QualityMonitorError
from data_access.schema.migrate import migrate
from data_access.settings import load_settings
from data_access.sql.databricks_engine import DatabricksSqlEngine
from data_access.volumes_databricks import DatabricksVolumeFiles
from services.core.errors import NotFoundError, ValidationError
from services.core.workbench import Workbench
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.records import Deployment, DeploymentStatus, Target
from services.monitor.quality_monitor import QualityMonitorService
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.fakes.dbapi_fake import FakeWarehouse
from tests.train_builders import crystal_template

USER = User("tester@example.com", "tester", access_token="user-token")
PAYLOAD = "mirion_vital.workbench.defects_payload"
PREDICTIONS = "mirion_vital.workbench.defects_predictions"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def rest() -> Iterator[FakeDatabricksRest]:
    with FakeDatabricksRest() as rest:
        yield rest


@pytest.fixture
def workbench(rest) -> Iterator[Workbench]:
    warehouse = FakeWarehouse()
    engine = DatabricksSqlEngine(warehouse.connect)
    settings = load_settings({"WORKBENCH_BACKEND": "databricks", "DATABRICKS_WAREHOUSE_ID": "abc123", "WORKBENCH_DEMO_DATA": "0"})
    client = rest.client(USER.access_token)
    wb = Workbench(Backend(settings, engine, DatabricksVolumeFiles(client), DatabricksCatalogBrowser(client, engine), USER))
    migrate(engine, settings)
    rest.publish_tables_of(warehouse)
    yield wb
    engine.close()
    warehouse.close()


def deploy(wb: Workbench, name: str = "defects", template_id: str | None = None, inference_table: str | None = PAYLOAD) -> None:
    DeploymentsStore(wb).insert(Deployment(
        id=str(uuid.uuid4()), endpoint_name=name, model_name="mirion_vital.workbench.defects", model_version="1",
        model_id="defects/1", target=Target.DATABRICKS, status=DeploymentStatus.READY, lineage_id=None, training_sheet_id=None,
        template_id=template_id, max_tokens=0, schema_guardrail=False, mlflow_run_id=None, created_by="tester@example.com",
        created_at=T0,
    ), {"versions": [], "inference_table": inference_table})


def log_payload(wb: Workbench, rows: list[tuple[int, int, str | None, str]]) -> None:
    """(minutes after T0, status, predicted defect_type or None, served entity) as the AI Gateway logs them."""
    engine = wb.backend.engine
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {PAYLOAD} (request_time TIMESTAMP, databricks_request_id STRING, client_request_id STRING, "
        "status_code INT, execution_duration_ms BIGINT, request STRING, response STRING, served_entity_id STRING, requester STRING)"
    )
    for minute, status, label, entity in rows:
        answer = json.dumps({"defect_type": label, "note": "seen"}) if label else None
        engine.execute(
            f"INSERT INTO {PAYLOAD} VALUES (:at, :id, NULL, :status, 40, '{{}}', :response, :entity, 'c@example.com')",
            {"at": T0 + timedelta(minutes=minute), "id": uuid.uuid4().hex, "status": status, "entity": entity,
             "response": json.dumps({"predictions": [answer]}) if answer else '{"error_code": "BAD_REQUEST"}'},
        )


@pytest.fixture
def service(workbench, rest) -> QualityMonitorService:
    deploy(workbench, template_id=crystal_template(workbench).id)
    return QualityMonitorService(workbench, DatabricksQualityMonitors(lambda: rest.client(USER.access_token)))


def test_a_classification_endpoint_gets_an_inference_log_monitor_on_its_predictions(workbench, rest, service):
    log_payload(workbench, [(0, 200, "crack", "defects-1"), (1, 200, "inclusion", "defects-2"), (2, 400, None, "defects-1")])
    state = service.create_monitor("defects")

    assert (state.table, state.status) == (PREDICTIONS, "PENDING")
    assert state.profile_metrics_table == f"{PREDICTIONS}_profile_metrics" and state.drift_metrics_table == f"{PREDICTIONS}_drift_metrics"
    [monitor] = rest.data_quality.monitors.values()
    assert monitor["object_id"] == rest.tables[PREDICTIONS]["table_id"]
    config = monitor["data_profiling_config"]
    assert config["output_schema_id"] == rest.schemas["mirion_vital.workbench"]["schema_id"]
    assert config["warehouse_id"] == "abc123"
    assert config["inference_log"] == {
        "problem_type": "INFERENCE_PROBLEM_TYPE_CLASSIFICATION", "timestamp_column": "request_time", "model_id_column": "served_entity_id",
        "prediction_column": "prediction", "granularities": ["AGGREGATION_GRANULARITY_1_HOUR", "AGGREGATION_GRANULARITY_1_DAY"],
    }
    rows = workbench.backend.engine.query(f"SELECT served_entity_id, prediction FROM {PREDICTIONS} ORDER BY request_time")
    assert [(r["served_entity_id"], r["prediction"]) for r in rows] == [("defects-1", "crack"), ("defects-2", "inclusion")]
    assert service.state("defects").status == "ACTIVE"


def test_creating_again_returns_the_monitor_and_appends_only_new_answers(workbench, rest, service):
    log_payload(workbench, [(0, 200, "crack", "defects-1")])
    first = service.create_monitor("defects")
    log_payload(workbench, [(5, 200, "chip", "defects-1")])
    again = service.create_monitor("defects")
    assert again.dashboard_id == first.dashboard_id and len(rest.data_quality.monitors) == 1
    assert workbench.backend.engine.scalar(f"SELECT count(*) AS n FROM {PREDICTIONS}") == 2
    assert service.refresh_predictions(service.endpoint("defects")) == 0


def test_an_endpoint_without_a_classification_field_or_inference_table_is_refused(workbench, rest, service):
    deploy(workbench, "free-text", template_id=None)
    with pytest.raises(ValidationError, match="not a classification endpoint"):
        service.create_monitor("free-text")
    deploy(workbench, "untabled", template_id=crystal_template(workbench, "Other").id, inference_table=None)
    with pytest.raises(ValidationError, match="no AI Gateway inference table"):
        service.create_monitor("untabled")
    with pytest.raises(NotFoundError):
        service.create_monitor("nowhere")
    assert rest.data_quality.monitors == {}


def test_a_refusal_by_the_workspace_is_a_clear_error(workbench, rest, service):
    log_payload(workbench, [(0, 200, "crack", "defects-1")])
    rest.deny("mirion_vital.workbench.defects_predictions")
    with pytest.raises(QualityMonitorError, match=re.escape(f"refused the data quality monitor on {PREDICTIONS}")):
        service.create_monitor("defects")
    assert rest.data_quality.monitors == {}
