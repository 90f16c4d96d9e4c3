"""The Playground's sheet items: rendered through the model's template as generation rendered them."""

from __future__ import annotations

from dataclasses import replace

from services.deploy.endpoints import LocalEndpoints
from services.deploy.playground import sheet_items
from services.deploy.records import ChatRequest
from tests.deploy_builders import trained_model
from tests.fakes.served_model import FakeModelLoader, FakeServedModel


def test_an_item_of_the_models_sheet_becomes_the_chat_its_template_renders(workbench):
    model = trained_model(workbench)
    endpoints = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): FakeServedModel()}))
    deployment = endpoints.deploy(workbench, model, "urgency")
    endpoints.stop()
    items = sheet_items(workbench, deployment)
    assert [i.item_ref for i in items] == [f"INV-{i:04d}" for i in range(6)]
    system, user = items[0].messages
    assert (system.role, system.content) == ("system", "You triage medical invoices.")
    assert user.role == "user" and user.content.startswith("Invoice INV-0000 from ") and " for " in user.content
    pair = workbench.backend.engine.query_one(
        f"SELECT messages FROM {workbench.table('qa_pairs')} WHERE item_ref = 'INV-0000' AND training_sheet_id = :id",
        {"id": model.training_sheet_id},
    )
    assert user.content in pair["messages"]  # the very prompt the model was trained on


def test_a_model_without_its_template_or_training_sheet_offers_no_items(workbench):
    model = trained_model(workbench)
    endpoints = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): FakeServedModel()}))
    deployment = endpoints.deploy(workbench, model, "urgency")
    endpoints.stop()
    assert sheet_items(workbench, replace(deployment, template_id=None)) == []
    assert sheet_items(workbench, replace(deployment, training_sheet_id="gone")) == []


def test_a_request_rendered_from_an_item_is_logged_with_the_item_it_came_from(workbench):
    model = trained_model(workbench)
    endpoints = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): FakeServedModel()}))
    deployment = endpoints.deploy(workbench, model, "urgency")
    item = sheet_items(workbench, deployment)[2]
    endpoints.invoke("urgency", ChatRequest(item.messages, 8, item.source), requester="c@example.com")
    endpoints.invoke("urgency", ChatRequest(item.messages, 8), requester="c@example.com")
    endpoints.stop()
    rows = workbench.backend.engine.query(f"SELECT sheet_id, item_ref FROM {workbench.table('inference_log')} ORDER BY created_at")
    sheet_id = workbench.backend.engine.scalar(f"SELECT sheet_id FROM {workbench.table('training_sheets')} WHERE id = :id",
                                               {"id": model.training_sheet_id})
    assert [(r["sheet_id"], r["item_ref"]) for r in rows] == [(sheet_id, "INV-0002"), (None, None)]
