"""The DSPy Optimizer page through AppTest: the model named, a run launched with a scripted model
behind a loopback OpenAI-compatible server, its diff shown, and Accept making a template version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.core.jobs import JobRunner
from services.dspy.optimizer_service import DspyOptimizerService
from services.templates.prompt_templates import TemplateService
from tests.dspy_builders import TASK_FIELDS, provider_kind, provider_training_sheet
from tests.fakes.chat_server import ChatScript, FakeChatServer
from tests.fakes.dspy_answers import dspy_answerer
from tests.mlflow_store import empty_mlflow_db, fresh_mlflow_store  # noqa: F401 - fixtures: a built MLflow store per test

PAGE = "pages/dspy_optimizer.py"
JOB_WAIT_S = 60


@pytest.fixture
def model_server(monkeypatch) -> Iterator[FakeChatServer]:
    with FakeChatServer(ChatScript(answer=dspy_answerer(provider_kind, TASK_FIELDS))) as server:
        monkeypatch.setenv("WORKBENCH_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("WORKBENCH_LLM_MODEL", "scripted")
        yield server


def test_without_a_model_the_page_says_so_and_cannot_launch(open_page, workbench):
    provider_training_sheet(workbench)
    app = open_page(PAGE)
    assert not app.exception
    assert [t.value for t in app.title] == ["DSPy Optimizer"]
    assert "No language model is configured" in app.warning[0].value
    assert app.button(key="dspy_launch").disabled


def test_a_run_launched_on_the_page_is_reviewed_as_a_diff_and_accepted_as_a_new_version(open_page, workbench, model_server):
    training = provider_training_sheet(workbench)
    app = open_page(PAGE)
    assert not app.exception
    assert any("scripted" in c.value for c in app.caption)
    app.selectbox(key="dspy_optimizer").select("BootstrapFewShot")
    app.button(key="dspy_launch").click().run()
    job_id = app.session_state["dspy_job"]
    assert JobRunner(workbench).wait(job_id, JOB_WAIT_S).status.value == "succeeded"
    app.run()
    assert not app.exception
    assert [m.value for m in app.metric] == ["0%", "100%"]
    assert not any("every model call traced" in c.value for c in app.caption)  # the box was left as it starts
    assert any("Few-shot examples" in m.value for m in app.markdown)
    app.button(key="dspy_accept").click().run()
    assert not app.exception
    assert app.success[0].value.startswith("Accepted: Provider kind v1.1.0 is a new draft")
    (run,) = DspyOptimizerService(workbench).recent()
    version = TemplateService(workbench).get(run.accepted_template_id)
    assert version.version == "1.1.0" and version.examples
    assert training.id == run.training_sheet_id


def test_a_run_launched_with_the_trace_box_ticked_says_every_call_was_traced(open_page, workbench, model_server):
    provider_training_sheet(workbench)
    app = open_page(PAGE)
    assert app.checkbox(key="dspy_trace_calls").value is False  # tracing makes a run about four times as long: asked for
    app.checkbox(key="dspy_trace_calls").check().run()
    app.button(key="dspy_launch").click().run()
    assert JobRunner(workbench).wait(app.session_state["dspy_job"], JOB_WAIT_S).status.value == "succeeded"
    app.run()
    assert not app.exception
    assert any("every model call traced" in c.value for c in app.caption)
