"""A local endpoint whose model's template asks for retrieved examples fills them per request
(the Playground sends through the same endpoint) and the inference log row records which."""

from __future__ import annotations

import json

import pytest

from services.deploy.endpoints import LocalEndpoints
from services.deploy.records import ChatRequest, ChatTurn
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft
from tests.deploy_builders import trained_model
from tests.fakes.served_model import FakeModelLoader, FakeServedModel

ITEM = ChatRequest((ChatTurn("system", "You triage medical invoices."), ChatTurn("user", "Invoice INV-0042 from Lakeside Clinic for 420.00.")))


def _served(workbench, retrieved_k: int):
    model = trained_model(workbench)
    # The template the model was trained with, as a version asking for retrieved examples would be.
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('templates')} SET retrieved_examples_k = :k WHERE id = :id", {"k": retrieved_k, "id": model.template_id}
    )
    served = FakeServedModel()
    endpoints = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): served}))
    endpoints.deploy(workbench, model, "urgency", max_tokens=32)
    return endpoints, served


@pytest.fixture
def example(workbench):
    store = ExampleStore(workbench)
    store.add(ExampleDraft("A poem about the sea", "waves", function_name="generation"))
    return store.add(ExampleDraft("Invoice INV-9000 from Lakeside Clinic for 400.00.", '{"urgency": "urgent"}', function_name="classification"))


def logged(workbench) -> list[dict]:
    return workbench.backend.engine.query(f"SELECT request, few_shot_example_ids FROM {workbench.table('inference_log')} ORDER BY created_at")


def test_the_model_sees_the_retrieved_example_before_the_item_and_the_log_names_it(workbench, example):
    endpoints, served = _served(workbench, retrieved_k=1)
    endpoints.invoke("urgency", ITEM, requester="caller@example.com")
    endpoints.stop()

    (row,) = logged(workbench)
    assert list(row["few_shot_example_ids"]) == [example.example_id]
    assert len(json.loads(row["request"])["messages"]) == 2  # the request as the caller sent it
    assert [(m.role, m.content) for m in served.asked[0]] == [
        ("system", "You triage medical invoices."), ("user", example.input), ("assistant", example.expected_output),
        ("user", "Invoice INV-0042 from Lakeside Clinic for 420.00."),
    ]


def test_an_endpoint_whose_template_retrieves_nothing_sends_the_request_as_it_came(workbench, example):
    endpoints, served = _served(workbench, retrieved_k=0)
    endpoints.invoke("urgency", ITEM, requester="caller@example.com")
    endpoints.stop()

    assert served.asked == [ITEM.messages] and logged(workbench)[0]["few_shot_example_ids"] is None
    assert ExampleStore(workbench).get(example.example_id).usage_count == 0
