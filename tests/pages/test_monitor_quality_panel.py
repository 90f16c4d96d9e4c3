"""MONITOR's data quality panel on the Databricks backend (AppTest over the component, with the
warehouse fake and the loopback workspace): a classification endpoint gets its monitor from a
button, and the panel then shows its status and metric tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from data_access.monitoring.quality_monitors import DatabricksQualityMonitors
from services.core.workbench import Workbench
from services.monitor.quality_monitor import QualityMonitorService
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.monitor_databricks_builders import USER, deploy_serving, log_payload, workspace_and_workbench
from tests.pages.conftest import PAGE_TIMEOUT_S
from tests.train_builders import crystal_template


def panel(workbench, service) -> None:
    from components.monitor import alerts_quality

    alerts_quality.show(workbench, key="quality", service=service)


@pytest.fixture
def world() -> Iterator[tuple[FakeDatabricksRest, Workbench]]:
    with workspace_and_workbench() as both:
        yield both


def open_panel(workbench: Workbench, rest: FakeDatabricksRest) -> AppTest:
    service = QualityMonitorService(workbench, DatabricksQualityMonitors(lambda: rest.client(USER.access_token)))
    return AppTest.from_function(panel, kwargs={"workbench": workbench, "service": service}, default_timeout=PAGE_TIMEOUT_S).run()


def test_a_classification_endpoint_gets_its_monitor_from_the_panel(world):
    rest, workbench = world
    deploy_serving(workbench, template_id=crystal_template(workbench).id)
    deploy_serving(workbench, "free-text")  # no classification field: not offered
    log_payload(workbench, [(0, 200, "crack", "defects-1", 40)])
    app = open_panel(workbench, rest)
    assert not app.exception
    assert app.selectbox(key="quality_endpoint").options == ["defects"]
    assert "No monitor yet" in app.caption[-1].value
    app.button(key="quality_create").click().run()
    assert not app.exception and len(rest.data_quality.monitors) == 1
    assert "defects_predictions_profile_metrics" in app.markdown[-1].value


def test_without_a_classification_endpoint_the_panel_says_what_would_fill_it(world):
    rest, workbench = world
    app = open_panel(workbench, rest)
    assert "No classification endpoint on Model Serving yet" in app.caption[0].value
