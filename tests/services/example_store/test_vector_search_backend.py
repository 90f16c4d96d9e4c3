"""The example store with Databricks Vector Search as its index (the REST fake), the table local."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from data_access.vector_search.databricks_index import DatabricksExampleIndex
from services.core.errors import UnavailableError
from services.core.workbench import Workbench
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft, ExampleFilters
from tests.example_store_builders import pair_ids, set_pair, sheet_with_pairs
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.train_builders import PairSpec

INDEX = "mirion_vital.workbench.example_index"


@pytest.fixture
def store(workbench: Workbench) -> Iterator[ExampleStore]:
    with FakeDatabricksRest() as fake:
        local = ExampleStore(workbench)
        fake.vector_search.add_direct_index(INDEX, local.embedder.dimension)
        client = fake.client()
        yield ExampleStore(workbench, local.embedder, DatabricksExampleIndex(lambda: client, INDEX, local.embedder.dimension))


def test_vector_search_finds_authored_examples_with_the_same_filters(store: ExampleStore) -> None:
    store.add(ExampleDraft("Dose rate of 40 µSv/h beside the drum", "high", function_name="dose_alert", domain="radiation"))
    store.add(ExampleDraft("Invoice due in 30 days", "routine", function_name="invoice_urgency", domain="finance"))

    hits = store.search("radiation level is high", k=2, min_score=-1.0, filters=ExampleFilters(domain="radiation"))

    assert [h.example.function_name for h in hits] == ["dose_alert"]


def test_vector_search_results_are_gated_at_retrieval_too(workbench: Workbench, store: ExampleStore) -> None:
    sheet = sheet_with_pairs(workbench, [PairSpec(), PairSpec()])
    ids = pair_ids(workbench, sheet.id)
    store.sync(sheet.id)
    set_pair(workbench, ids[1], prohibited=["few_shot"])

    assert [h.example.source_qa_pair_id for h in store.search("crystal defect", k=5, min_score=-1.0)] == [ids[0]]


def test_when_vector_search_refuses_the_example_is_not_saved_and_the_message_says_why(workbench: Workbench) -> None:
    with FakeDatabricksRest() as fake:
        client = fake.client()
        local = ExampleStore(workbench)
        store = ExampleStore(workbench, local.embedder, DatabricksExampleIndex(lambda: client, "c.s.missing", local.embedder.dimension))
        with pytest.raises(UnavailableError, match="cannot answer now"):
            store.add(ExampleDraft("Dose rate high", "alert"))
    assert local.count() == 0
