from __future__ import annotations

import pytest

from services.core.domain.governance import ALL_USES
from services.core.errors import NotFoundError
from services.core.workbench import Workbench
from services.example_store.examples import ExampleStore, example_id_for_pair
from tests.example_store_builders import pair_ids, set_pair, sheet_with_pairs, tag_source
from tests.train_builders import PairSpec

NO_FEW_SHOT = tuple(u for u in ALL_USES if u != "few_shot")


@pytest.fixture
def store(workbench: Workbench) -> ExampleStore:
    return ExampleStore(workbench)


def test_sync_takes_only_labeled_pairs_allowed_and_not_prohibited_for_few_shot(workbench: Workbench, store: ExampleStore) -> None:
    sheet = sheet_with_pairs(workbench, [
        PairSpec(), PairSpec(status="review"), PairSpec(status="rejected"), PairSpec(allowed=NO_FEW_SHOT),
        PairSpec(prohibited=("few_shot",)), PairSpec(answer='{"defect_type": "none"}'),
    ])
    ids = pair_ids(workbench, sheet.id)

    report = store.sync(sheet.id)

    assert set(report.added) == {example_id_for_pair(ids[0]), example_id_for_pair(ids[5])}
    examples = {e.source_qa_pair_id: e for e in store.browse()}
    assert set(examples) == {ids[0], ids[5]}
    first = examples[ids[0]]
    assert first.input.startswith("Crystal Crystals-00000") and first.expected_output == '{"defect_type": "crack"}'
    assert first.function_name == "classification" and first.domain == "Crystals" and first.training_sheet_id == sheet.id
    assert first.embedding_model == store.embedder.name


def test_a_resync_adds_nothing_twice_and_removes_examples_whose_pair_lost_the_gate(workbench: Workbench, store: ExampleStore) -> None:
    sheet = sheet_with_pairs(workbench, [PairSpec(), PairSpec(), PairSpec(reason="ok")])
    ids = pair_ids(workbench, sheet.id)
    store.sync(sheet.id)
    set_pair(workbench, ids[0], status="rejected")
    set_pair(workbench, ids[1], prohibited=["few_shot"])

    report = store.sync(sheet.id)

    assert report.added == () and report.updated == () and report.unchanged == 1
    assert {(r.source_qa_pair_id, r.reason) for r in report.removed} == {
        (ids[0], "Status: rejected"), (ids[1], "Not allowed for few_shot"),
    }
    assert [e.source_qa_pair_id for e in store.browse()] == [ids[2]]


def test_a_resync_refreshes_an_example_whose_answer_was_edited(workbench: Workbench, store: ExampleStore) -> None:
    sheet = sheet_with_pairs(workbench, [PairSpec()])
    pair = pair_ids(workbench, sheet.id)[0]
    store.sync(sheet.id)
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('qa_pairs')} SET messages = replace(messages, 'crack', 'inclusion') WHERE id = :id", {"id": pair}
    )

    report = store.sync(sheet.id)

    assert report.updated == (example_id_for_pair(pair),)
    assert store.get(example_id_for_pair(pair)).expected_output == '{"defect_type": "inclusion"}'


def test_a_source_tagged_confidential_after_sync_takes_all_its_examples_out(workbench: Workbench, store: ExampleStore) -> None:
    sheet = sheet_with_pairs(workbench, [PairSpec(), PairSpec()])
    store.sync(sheet.id)
    tag_source(workbench, {"CONFIDENTIAL": "true"})

    report = store.sync(sheet.id)

    assert len(report.removed) == 2 and "CONFIDENTIAL" in report.blocked_reason
    assert store.count() == 0


def test_syncing_a_training_sheet_that_does_not_exist_says_so(store: ExampleStore) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        store.sync("no-such-sheet")
