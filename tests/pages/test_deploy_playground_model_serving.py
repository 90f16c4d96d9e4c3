"""DEPLOY's Playground on the Databricks backend (AppTest over the component, with the warehouse
fake and the loopback workspace): a Model Serving endpoint DEPLOY recorded is offered beside the
local ones, answers a prompt through the real SDK, and a failing endpoint leaves a message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from data_access.serving.databricks_endpoints import DatabricksServingTarget
from data_access.serving.endpoints import EndpointSpec, ServedVersion
from services.core.workbench import Workbench
from services.deploy.endpoints import LocalEndpoints
from services.deploy.playground_requests import Playground
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.fakes.served_model import FakeModelLoader
from tests.monitor_databricks_builders import PAYLOAD, USER, deploy_serving, workspace_and_workbench
from tests.pages.conftest import PAGE_TIMEOUT_S
from tests.train_builders import crystal_template

MODEL = "mirion_vital.workbench.defects"


def section(playground) -> None:
    from components.deploy import playground as component

    component.section(playground, lambda deployment: [], key="pg")


@pytest.fixture
def world() -> Iterator[tuple[FakeDatabricksRest, Workbench]]:
    """A ready Model Serving endpoint `defects` in the workspace, recorded as DEPLOY records it."""
    with workspace_and_workbench() as (rest, workbench):
        rest.serving.add_model_version(MODEL, "1")
        target = DatabricksServingTarget(lambda: rest.client(USER.access_token), workbench.settings.qualified_schema)
        target.deploy(EndpointSpec("defects", (ServedVersion(MODEL, "1"),)))
        deploy_serving(workbench, template_id=crystal_template(workbench).id)
        yield rest, workbench


def open_section(rest: FakeDatabricksRest, workbench: Workbench) -> AppTest:
    target = DatabricksServingTarget(lambda: rest.client(USER.access_token), workbench.settings.qualified_schema)
    playground = Playground(workbench, LocalEndpoints(workbench, FakeModelLoader()), target)
    return AppTest.from_function(section, kwargs={"playground": playground}, default_timeout=PAGE_TIMEOUT_S).run()


def send(app: AppTest, prompt: str) -> AppTest:
    app.text_area(key="pg_prompt").set_value(prompt)
    return next(b for b in app.button if b.label == "Send").click().run()


def test_a_prompt_to_a_model_serving_endpoint_shows_its_answer_latency_and_schema_check(world):
    rest, workbench = world
    rest.serving.answer = lambda served, messages: '{"defect_type": "crack", "note": "hairline"}'
    app = open_section(rest, workbench)
    assert not app.exception
    assert app.selectbox(key="pg_endpoint").options == ["defects (Model Serving)"]

    send(app, "Crystal C-7: is there a defect?")

    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.code[0].value == '{"defect_type": "crack", "note": "hairline"}'
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Latency"].endswith(" ms") and metrics["Output schema"] == "matches" and metrics["Tokens"] == "—"
    assert f"logged by the AI Gateway inference table {PAYLOAD}" in app.caption[-1].value
    (sent,) = rest.serving.queries
    assert sent["dataframe_records"][0]["messages"] == [{"role": "user", "content": "Crystal C-7: is there a defect?"}]
    assert {r.token for r in rest.requests_for("/serving-endpoints/defects/invocations")} == {USER.access_token}


def test_an_endpoint_that_fails_leaves_a_clear_message_and_no_answer(world):
    rest, workbench = world
    rest.serving.fail_next_query(500, "The model raised: out of memory")
    app = open_section(rest, workbench)

    send(app, "Crystal C-7: is there a defect?")

    assert not app.exception
    assert "defects did not answer" in app.error[0].value and "out of memory" in app.error[0].value
    assert not app.code and not app.metric
