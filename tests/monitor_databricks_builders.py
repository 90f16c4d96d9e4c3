"""A Databricks-backed workbench for MONITOR's Databricks side: the warehouse is the DB-API fake,
the workspace the loopback REST fake; a Model Serving endpoint recorded as DEPLOY records one,
and its AI Gateway inference table filled as the gateway fills it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from data_access.backends import Backend
from data_access.catalog.databricks_browser import DatabricksCatalogBrowser
from data_access.identity import User
from data_access.schema.migrate import migrate
from data_access.settings import load_settings
from data_access.sql.databricks_engine import DatabricksSqlEngine
from data_access.volumes_databricks import DatabricksVolumeFiles
from services.core.workbench import Workbench
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.records import Deployment, DeploymentStatus, Target
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.fakes.dbapi_fake import FakeWarehouse

USER = User("tester@example.com", "tester", access_token="user-token")
PAYLOAD = "mirion_vital.workbench.defects_payload"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@contextmanager
def databricks_workbench(rest: FakeDatabricksRest) -> Iterator[Workbench]:
    warehouse = FakeWarehouse()
    engine = DatabricksSqlEngine(warehouse.connect)
    settings = load_settings({"WORKBENCH_BACKEND": "databricks", "DATABRICKS_WAREHOUSE_ID": "abc123", "WORKBENCH_DEMO_DATA": "0"})
    client = rest.client(USER.access_token)
    wb = Workbench(Backend(settings, engine, DatabricksVolumeFiles(client), DatabricksCatalogBrowser(client, engine), USER))
    migrate(engine, settings)
    rest.publish_tables_of(warehouse)
    try:
        yield wb
    finally:
        engine.close()
        warehouse.close()


@contextmanager
def workspace_and_workbench() -> Iterator[tuple[FakeDatabricksRest, Workbench]]:
    """The loopback workspace and a migrated workbench on the warehouse fake that it publishes."""
    with FakeDatabricksRest() as rest, databricks_workbench(rest) as wb:
        yield rest, wb


def deploy_serving(wb: Workbench, name: str = "defects", template_id: str | None = None, inference_table: str | None = PAYLOAD) -> None:
    DeploymentsStore(wb).insert(Deployment(
        id=str(uuid.uuid4()), endpoint_name=name, model_name="mirion_vital.workbench.defects", model_version="1",
        model_id="defects/1", target=Target.DATABRICKS, status=DeploymentStatus.READY, lineage_id=None, training_sheet_id=None,
        template_id=template_id, max_tokens=0, schema_guardrail=False, mlflow_run_id=None, created_by=USER.email,
        created_at=T0,
    ), {"versions": [], "inference_table": inference_table})


def log_payload(wb: Workbench, rows: list[tuple[float, int, str | None, str, int]], table: str = PAYLOAD) -> None:
    """(minutes after T0, status, predicted defect_type or None, served entity id, duration ms) as the AI Gateway logs them."""
    engine = wb.backend.engine
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {table} (request_time TIMESTAMP, databricks_request_id STRING, client_request_id STRING, "
        "status_code INT, execution_duration_ms BIGINT, request STRING, response STRING, served_entity_id STRING, requester STRING)"
    )
    for minute, status, label, entity, duration_ms in rows:
        answer = json.dumps({"defect_type": label, "note": "seen"}) if label else None
        engine.execute(
            f"INSERT INTO {table} VALUES (:at, :id, NULL, :status, :duration, '{{}}', :response, :entity, 'c@example.com')",
            {"at": T0 + timedelta(minutes=minute), "id": uuid.uuid4().hex, "status": status, "entity": entity, "duration": duration_ms,
             "response": json.dumps({"predictions": [answer]}) if answer else '{"error_code": "BAD_REQUEST"}'},
        )
