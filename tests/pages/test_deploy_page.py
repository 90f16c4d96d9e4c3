"""The DEPLOY page: pick a registered version (its lineage and evaluation beside it), deploy it
to a local endpoint, and ask it something in the Playground. The model is the real registered
chat model (tests/registered_model.py)."""

from __future__ import annotations

import pytest

from services.deploy.endpoints import stop_local_endpoints
from services.deploy.inference_log import InferenceLogStore
from tests.deploy_builders import trained_model
from tests.registered_model import install_registry


@pytest.fixture(autouse=True)
def _stop_endpoints():
    yield
    stop_local_endpoints()


def button(app, label: str):
    return next(b for b in app.button if b.label == label)


def test_with_no_registered_model_the_page_says_where_models_come_from(open_page):
    app = open_page("pages/deploy.py")
    assert not app.exception
    assert "Train one on the TRAIN page" in app.info[0].value
    assert "**:blue-background[DEPLOY]**" in [m.value for m in app.markdown]


def test_a_version_is_shown_with_its_training_sheet_base_model_and_evaluation(open_page, workbench):
    model = trained_model(workbench)
    app = open_page("pages/deploy.py", {"model": model.model_id})
    assert not app.exception
    assert app.selectbox(key="deploy_model").value == model.model_id
    details = app.dataframe[0].value.iloc[0]
    assert details["Training Sheet"] == model.training_sheet_name and details["Base model"] == "SmolLM2-135M-Instruct"
    assert (details["Accuracy"], details["Base model accuracy"], details["Evaluated on"]) == ("75%", "25%", "4 held-out pairs")
    assert app.text_input(key="deploy_form_name").value == "invoices_urgency_lora-v1"
    assert "No local endpoint yet" in app.info[0].value


@pytest.mark.slow
def test_deploying_the_version_locally_and_asking_it_in_the_playground(open_page, workbench, registered_chat_model):
    install_registry(registered_chat_model, workbench.settings.home)
    model = trained_model(workbench, model_name=registered_chat_model.name)
    app = open_page("pages/deploy.py")
    app.text_input(key="deploy_form_name").set_value("urgency")
    app.number_input(key="deploy_form_tokens").set_value(8)
    button(app, "Deploy locally").click().run(timeout=240)
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.success[0].value == f"urgency serves {model.model_id}."
    table = app.dataframe[1].value
    assert list(table["Endpoint"]) == ["urgency"] and list(table["Status"]) == ["ready"]

    app.text_area(key="deploy_playground_prompt").set_value("Invoice INV-0042 for 420.00. Urgent or routine?")
    app.number_input(key="deploy_playground_tokens").set_value(4)
    button(app, "Send").click().run(timeout=240)
    assert not app.exception and not app.error, [e.value for e in app.error]
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Latency"].endswith(" ms") and metrics["Output schema"] in ("matches", "does not match")
    assert app.code[0].value

    app.number_input(key="deploy_playground_tokens").set_value(50)
    button(app, "Send").click().run(timeout=60)
    assert "above this endpoint's limit of 8" in app.error[0].value

    app.radio(key="deploy_playground_source").set_value("An item of the model's sheet").run()
    assert app.selectbox(key="deploy_playground_item").options[0] == "INV-0000"
    app.selectbox(key="deploy_playground_item").set_value("INV-0003")
    app.number_input(key="deploy_playground_tokens").set_value(4)
    button(app, "Send").click().run(timeout=240)
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert any(t.value.startswith("Invoice INV-0003 from ") for t in app.text)  # the rendered request, as sent

    stop_local_endpoints()
    rows = InferenceLogStore(workbench).recent("urgency")
    assert [(r["status_code"], r["source"]) for r in rows] == [(200, "playground"), (400, "playground"), (200, "playground")]
    assert {r["requester"] for r in rows} == {"tester@example.com"}
    items = workbench.backend.engine.query(f"SELECT item_ref FROM {workbench.table('inference_log')} ORDER BY created_at")
    assert [r["item_ref"] for r in items] == [None, None, "INV-0003"]  # MONITOR finds the item (and its label) from here
