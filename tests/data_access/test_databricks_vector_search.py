"""The Vector Search example index through the real databricks-sdk against the loopback REST fake."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from data_access.vector_search.databricks_index import UPSERT_BYTES, DatabricksExampleIndex, json_arrays
from data_access.vector_search.index import IndexedVector, IndexFilters, VectorIndexError
from tests.fakes.databricks_rest import FakeDatabricksRest

INDEX = "mirion_vital.workbench.example_index"
DIMENSION = 4


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def fake() -> Iterator[FakeDatabricksRest]:
    with FakeDatabricksRest() as server:
        server.vector_search.add_direct_index(INDEX, DIMENSION)
        yield server


@pytest.fixture
def index(fake: FakeDatabricksRest) -> DatabricksExampleIndex:
    client = fake.client()
    index = DatabricksExampleIndex(lambda: client, INDEX, DIMENSION)
    index.upsert([
        IndexedVector("dose", unit(1, 0, 0, 0), "dose_alert", "radiation", 0.9),
        IndexedVector("near-dose", unit(1, 1, 0, 0), "dose_alert", "radiation", 0.4),
        IndexedVector("invoice", unit(0, 0, 1, 0), "invoice_urgency", "finance", 0.7),
    ])
    return index


def test_upserted_examples_come_back_nearest_first_with_cosine_scores(index: DatabricksExampleIndex) -> None:
    hits = index.search(unit(1, 0, 0, 0), 3, IndexFilters(), min_score=-1.0)

    assert [h.id for h in hits] == ["dose", "near-dose", "invoice"]
    assert [round(h.score, 4) for h in hits] == [1.0, round(float(np.sqrt(0.5)), 4), 0.0]


def test_a_cosine_threshold_means_the_same_as_on_the_local_index(index: DatabricksExampleIndex, fake: FakeDatabricksRest) -> None:
    assert [h.id for h in index.search(unit(1, 0, 0, 0), 3, IndexFilters(), min_score=0.5)] == ["dose", "near-dose"]
    assert fake.vector_search.queries[-1]["score_threshold"] == pytest.approx(1 / (3 - 2 * 0.5))


def test_filters_go_to_vector_search_in_its_own_syntax(index: DatabricksExampleIndex, fake: FakeDatabricksRest) -> None:
    hits = index.search(unit(1, 0, 0, 0), 3, IndexFilters(("dose_alert", "defect"), "radiation", 0.5), min_score=-1.0)

    assert [h.id for h in hits] == ["dose"]
    assert fake.vector_search.queries[-1]["filters_json"] == (
        '{"function_name": ["dose_alert", "defect"], "domain": "radiation", "quality_score >=": 0.5}'
    )


def test_deleted_and_replaced_examples_are_searched_as_they_are_now(index: DatabricksExampleIndex) -> None:
    index.delete(["dose", "never-there"])
    index.upsert([IndexedVector("invoice", unit(1, 0, 0, 0), "invoice_urgency", "finance", 0.7)])

    assert [h.id for h in index.search(unit(1, 0, 0, 0), 2, IndexFilters(), min_score=-1.0)] == ["invoice", "near-dose"]


def test_a_vector_of_the_wrong_size_is_refused_before_anything_is_sent(index: DatabricksExampleIndex, fake: FakeDatabricksRest) -> None:
    sent = len(fake.requests_for("vector-search"))
    with pytest.raises(VectorIndexError, match="length 4"):
        index.upsert([IndexedVector("bad", np.ones(3, dtype=np.float32))])
    assert len(fake.requests_for("vector-search")) == sent


def test_no_configured_index_is_a_clear_error() -> None:
    with pytest.raises(VectorIndexError, match="WORKBENCH_EXAMPLE_INDEX"):
        DatabricksExampleIndex(lambda: None, " ", DIMENSION)


def test_an_index_that_does_not_exist_is_a_clear_error(fake: FakeDatabricksRest) -> None:
    client = fake.client()
    missing = DatabricksExampleIndex(lambda: client, "mirion_vital.workbench.no_such_index", DIMENSION)
    with pytest.raises(VectorIndexError, match="no_such_index refused to search"):
        missing.search(unit(1, 0, 0, 0), 3, IndexFilters(), -1.0)


def test_a_large_batch_goes_in_requests_of_bounded_size_and_all_of_it_arrives(fake: FakeDatabricksRest) -> None:
    client = fake.client()
    index = DatabricksExampleIndex(lambda: client, INDEX, DIMENSION, upsert_bytes=600, delete_keys=3)
    sent = len(fake.requests_for("upsert-data"))
    index.upsert([IndexedVector(f"e{i}", unit(1, i, 0, 0), "dose_alert", "radiation", 0.5) for i in range(10)])
    upserts = fake.requests_for("upsert-data")[sent:]
    assert len(upserts) > 1 and all(r.body_bytes <= 600 * 1.2 for r in upserts)  # the SDK's envelope escapes quotes
    assert len(index.search(unit(1, 0, 0, 0), 20, IndexFilters(), min_score=-1.0)) == 10

    index.delete([f"e{i}" for i in range(7)])
    assert len(fake.requests_for("delete-data")) == 3  # 3 + 3 + 1
    assert sorted(h.id for h in index.search(unit(1, 0, 0, 0), 20, IndexFilters(), min_score=-1.0)) == ["e7", "e8", "e9"]


@pytest.mark.parametrize("dimension", [384, 1024])
def test_an_upsert_request_stays_near_its_byte_budget_whatever_the_dimension(dimension: int) -> None:
    rng = np.random.default_rng(7)
    rows = ({"id": f"e{i}", "embedding": rng.standard_normal(dimension).tolist()} for i in range(600))
    arrays = list(json_arrays(rows, UPSERT_BYTES))
    assert sum(a.count for a in arrays) == 600 and len(arrays) > 1
    assert all(len(a.text) <= UPSERT_BYTES and len(json.loads(a.text)) == a.count for a in arrays)


def test_json_arrays_fill_their_budget_exactly_and_an_item_over_it_goes_alone() -> None:
    assert [a.text for a in json_arrays(["a", "b"], 9)] == ['["a","b"]']  # exactly 9 characters
    assert [a.text for a in json_arrays(["a", "b"], 8)] == ['["a"]', '["b"]']
    assert [(a.text, a.count) for a in json_arrays(["a", "x" * 20, "b"], 9)] == [('["a"]', 1), (f'["{"x" * 20}"]', 1), ('["b"]', 1)]
    assert list(json_arrays([], 9)) == []
