from __future__ import annotations

import pytest

from services.core.errors import ValidationError
from services.core.workbench import Workbench
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft, ExampleFilters
from services.example_store.search import search
from tests.example_store_builders import pair_ids, set_pair, sheet_with_pairs, tag_source
from tests.train_builders import PairSpec

DRAFTS = (
    ExampleDraft("The detector reads 40 µSv/h near the waste drum", '{"alert": "high"}', function_name="dose_alert", domain="radiation", quality_score=0.9),
    ExampleDraft("Invoice total is 1,200 dollars, due in 30 days", '{"urgency": "routine"}', function_name="invoice_urgency", domain="finance", quality_score=0.6),
    ExampleDraft("Crystal shows a hairline crack along its edge", '{"defect_type": "crack"}', function_name="defect", domain="crystals", quality_score=0.3),
)


@pytest.fixture
def store(workbench: Workbench) -> ExampleStore:
    service = ExampleStore(workbench)
    for draft in DRAFTS:
        service.add(draft)
    return service


def test_search_finds_the_example_nearest_in_meaning_with_scores_best_first(store: ExampleStore) -> None:
    hits = store.search("radiation dose rate is elevated next to a barrel", k=3)

    assert hits[0].example.function_name == "dose_alert"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert -1.0 <= hits[-1].score <= hits[0].score <= 1.0


def test_a_score_threshold_leaves_out_distant_examples(store: ExampleStore) -> None:
    best = store.search("a cracked crystal", k=3)
    threshold = (best[0].score + best[1].score) / 2

    assert [h.example.function_name for h in store.search("a cracked crystal", k=3, min_score=threshold)] == ["defect"]


@pytest.mark.parametrize(("filters", "expected"), [
    (ExampleFilters(function_names=("invoice_urgency", "defect")), {"invoice_urgency", "defect"}),
    (ExampleFilters(domain="radiation"), {"dose_alert"}),
    (ExampleFilters(min_quality=0.5), {"dose_alert", "invoice_urgency"}),
    (ExampleFilters(domain="finance", min_quality=0.7), set()),
])
def test_filters_narrow_retrieval_by_function_domain_and_quality(store: ExampleStore, filters: ExampleFilters, expected: set[str]) -> None:
    assert {h.example.function_name for h in store.search("anything at all", k=10, min_score=-1.0, filters=filters)} == expected


def test_every_retrieval_counts_one_use_of_each_example_it_returns(store: ExampleStore) -> None:
    store.search("cracked crystal", k=1)
    store.search("cracked crystal", k=2)

    counts = {e.function_name: e.usage_count for e in store.browse()}
    assert counts["defect"] == 2 and sum(counts.values()) == 3


def test_an_edited_example_is_found_by_its_new_meaning(store: ExampleStore) -> None:
    crystal = next(e for e in store.browse() if e.function_name == "defect")
    store.update(crystal.example_id, ExampleDraft("Pump vibration exceeds limits", '{"action": "inspect"}', function_name="defect"))

    assert store.search("the pump is vibrating", k=1)[0].example.example_id == crystal.example_id


def test_a_pruned_example_is_never_retrieved(store: ExampleStore) -> None:
    crystal = next(e for e in store.browse() if e.function_name == "defect")
    store.prune([crystal.example_id])

    assert "defect" not in {h.example.function_name for h in store.search("cracked crystal", k=10)}


def test_retrieval_leaves_out_an_example_whose_pair_was_rejected_after_sync(workbench: Workbench) -> None:
    sheet = sheet_with_pairs(workbench, [PairSpec(), PairSpec()])
    ids = pair_ids(workbench, sheet.id)
    ExampleStore(workbench).sync(sheet.id)
    set_pair(workbench, ids[0], status="rejected")

    assert [h.example.source_qa_pair_id for h in search(workbench, "crystal defect", k=10)] == [ids[1]]


def test_retrieval_leaves_out_examples_whose_source_was_tagged_confidential_after_sync(workbench: Workbench) -> None:
    sheet = sheet_with_pairs(workbench, [PairSpec()])
    service = ExampleStore(workbench)
    service.sync(sheet.id)
    authored = service.add(ExampleDraft("A crystal with a crack", "crack"))
    tag_source(workbench, {"CONFIDENTIAL": "yes"})

    assert [h.example.example_id for h in service.search("crystal defect", k=10)] == [authored.example_id]


@pytest.mark.parametrize(("query", "k"), [("  ", 3), ("crystal", 0), ("crystal", 51)])
def test_a_blank_query_or_a_k_out_of_range_is_refused(store: ExampleStore, query: str, k: int) -> None:
    with pytest.raises(ValidationError):
        store.search(query, k=k)


@pytest.mark.parametrize("filters", [
    ExampleFilters(), ExampleFilters(function_names=("invoice_urgency", "defect")), ExampleFilters(domain="crystals"),
    ExampleFilters(min_quality=0.6), ExampleFilters(min_effectiveness=0.0), ExampleFilters(domain="radiation", min_quality=0.95),
])
def test_retrieval_checks_the_rows_it_read_by_the_same_filters_the_browser_asks_in_sql(store: ExampleStore, filters: ExampleFilters) -> None:
    store.add(ExampleDraft("An example nobody scored", '{"x": 1}', function_name="defect"))  # no domain, no quality, no effectiveness
    every = store.browse()
    admitted = {e.example_id for e in every if filters.admits(e.function_name, e.domain, e.quality_score, e.effectiveness_score)}
    assert admitted == {e.example_id for e in store.browse(filters)}
