"""A data quality monitor for a classification endpoint on Databricks: the predictions table is
filled from the AI Gateway inference table through the warehouse (the DB-API fake), and the
monitor created through the real databricks-sdk (`w.data_quality`) against the loopback workspace."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from data_access.monitoring.quality_monitors import DatabricksQualityMonitors
from services.core.errors import NotFoundError, ValidationError
from services.core.workbench import Workbench
from services.monitor.quality_monitor import MonitorRefusedError, QualityMonitorService
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.monitor_databricks_builders import USER, deploy_serving, log_payload, workspace_and_workbench
from tests.train_builders import crystal_template

PREDICTIONS = "mirion_vital.workbench.defects_predictions"


@pytest.fixture
def world() -> Iterator[tuple[FakeDatabricksRest, Workbench]]:
    with workspace_and_workbench() as both:
        yield both


@pytest.fixture
def service(world) -> QualityMonitorService:
    rest, workbench = world
    deploy_serving(workbench, template_id=crystal_template(workbench).id)
    return QualityMonitorService(workbench, DatabricksQualityMonitors(lambda: rest.client(USER.access_token)))


def test_a_classification_endpoint_gets_an_inference_log_monitor_on_its_predictions(world, service):
    rest, workbench = world
    log_payload(workbench, [(0, 200, "crack", "defects-1", 40), (1, 200, "inclusion", "defects-2", 40), (2, 400, None, "defects-1", 40)])
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


def test_creating_again_returns_the_monitor_and_appends_only_new_answers(world, service):
    rest, workbench = world
    log_payload(workbench, [(0, 200, "crack", "defects-1", 40)])
    first = service.create_monitor("defects")
    log_payload(workbench, [(5, 200, "chip", "defects-1", 40)])
    again = service.create_monitor("defects")
    assert again.dashboard_id == first.dashboard_id and len(rest.data_quality.monitors) == 1
    assert workbench.backend.engine.scalar(f"SELECT count(*) AS n FROM {PREDICTIONS}") == 2
    assert service.refresh_predictions(service.endpoint("defects")) == 0


def test_an_endpoint_without_a_classification_field_or_inference_table_is_refused(world, service):
    rest, workbench = world
    deploy_serving(workbench, "free-text", template_id=None)
    with pytest.raises(ValidationError, match="not a classification endpoint"):
        service.create_monitor("free-text")
    deploy_serving(workbench, "untabled", template_id=crystal_template(workbench, "Other").id, inference_table=None)
    with pytest.raises(ValidationError, match="no AI Gateway inference table"):
        service.create_monitor("untabled")
    with pytest.raises(NotFoundError):
        service.create_monitor("nowhere")
    assert rest.data_quality.monitors == {}


def test_a_refusal_by_the_workspace_is_a_clear_error(world, service):
    rest, workbench = world
    log_payload(workbench, [(0, 200, "crack", "defects-1", 40)])
    rest.deny("mirion_vital.workbench.defects_predictions")
    with pytest.raises(MonitorRefusedError, match=re.escape(f"refused the data quality monitor on {PREDICTIONS}")):
        service.create_monitor("defects")
    assert rest.data_quality.monitors == {}
