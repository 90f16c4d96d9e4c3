"""Tracing feedback to the pairs its model version trained on: the lineage's exact pairs, found by
the prompts' embeddings (stored once per version), with their expert labels' values."""

from __future__ import annotations

import pytest

from data_access.embeddings.lexical import LexicalEmbedder
from services.core.errors import NotFoundError
from services.improve.training_trace import TrainingTraceService
from tests.improve_builders import MODEL, Said, feedback_on, mislabeled_crack, trained_defects

# The pairs the version trained on, by their expert defect_type (each prompt describes that defect).
TRAINING = ["crack", "crack", "crack", "inclusion", "inclusion", "inclusion", "inclusion", "none", "none"]


@pytest.fixture
def defects(workbench):
    return trained_defects(workbench, TRAINING)


def _embedded_rows(workbench) -> int:
    return workbench.backend.engine.scalar(f"SELECT count(*) FROM {workbench.table('training_pair_embeddings')}")


def test_a_correction_is_traced_to_the_training_pairs_whose_prompts_are_like_its_request(workbench, defects):
    # The request shows a crack; the model said inclusion and the expert corrected it to crack.
    [feedback] = feedback_on(workbench, [Said("inclusion", corrected="crack", looks="crack")])
    trace = TrainingTraceService(workbench, LexicalEmbedder()).trace(feedback, k=4)
    assert trace.field == "defect_type" and (trace.predicted, trace.corrected) == ("inclusion", "crack")
    # The three crack pairs share the request's words; the fourth nearest is another prompt.
    assert [p.says("defect_type") for p in trace.pairs[:3]] == ["crack", "crack", "crack"]
    assert {p.pair_id for p in trace.pairs[:3]} == set(defects.pair_ids[:3])
    assert trace.pairs[0].similarity >= trace.pairs[1].similarity >= trace.pairs[3].similarity
    assert trace.summary.startswith("The model learned from 4 pairs like this; 3 say 'crack'")
    assert [trace.disagrees_with_correction(p) for p in trace.pairs[:3]] == [False, False, False]
    assert trace.disagrees_with_correction(trace.pairs[3])


def test_a_wrong_expert_label_shows_as_the_pair_that_disagrees_with_the_correction(workbench):
    # The third crack-looking pair was labeled "inclusion" by its expert: the mislabel behind the error.
    defects = mislabeled_crack(workbench)
    [feedback] = feedback_on(workbench, [Said("inclusion", corrected="crack", looks="crack")])
    trace = TrainingTraceService(workbench, LexicalEmbedder()).trace(feedback, k=3)
    assert sorted(p.says("defect_type") for p in trace.pairs) == ["crack", "crack", "inclusion"]
    [wrong] = [p for p in trace.pairs if trace.disagrees_with_correction(p)]
    assert (wrong.pair_id, wrong.sheet_id, wrong.item_ref, wrong.label_type) == (
        defects.pair_ids[2], defects.sheet_id, f"{MODEL}-00002", "classification")


def test_only_the_pairs_the_version_trained_on_are_embedded_and_only_once(workbench):
    from tests.train_builders import build_training_sheet

    trained_defects(workbench, TRAINING)
    build_training_sheet(workbench, [], name="Other")  # another sheet's pairs are not in the lineage
    service = TrainingTraceService(workbench, LexicalEmbedder())
    [feedback] = feedback_on(workbench, [Said("crack", value="down")])
    assert service.untraced_pairs(feedback) == len(TRAINING)
    service.trace(feedback)
    assert _embedded_rows(workbench) == len(TRAINING) and service.untraced_pairs(feedback) == 0
    [again] = feedback_on(workbench, [Said("none", value="down")], start=1)
    TrainingTraceService(workbench, LexicalEmbedder()).trace(again)
    assert _embedded_rows(workbench) == len(TRAINING)


def test_the_trace_reads_the_stored_vectors_not_the_prompts_again(workbench, defects):
    [feedback] = feedback_on(workbench, [Said("inclusion", corrected="crack", looks="crack")])
    service = TrainingTraceService(workbench, LexicalEmbedder())
    before = service.trace(feedback, k=3)
    # Prompts changed after embedding do not move the result: the version's stored vectors decide.
    workbench.backend.engine.execute(f"UPDATE {workbench.table('qa_pairs')} SET messages = NULL")
    after = TrainingTraceService(workbench, LexicalEmbedder()).trace(feedback, k=3)
    assert [p.pair_id for p in after.pairs] == [p.pair_id for p in before.pairs]


def test_feedback_on_a_version_without_lineage_says_there_is_nothing_to_trace(workbench):
    [feedback] = feedback_on(workbench, [Said("crack", value="down")], model_name="never_trained")
    with pytest.raises(NotFoundError, match="never_trained/1 has no training lineage"):
        TrainingTraceService(workbench, LexicalEmbedder()).trace(feedback)


def test_a_training_pair_without_a_prompt_is_stored_without_a_vector_and_not_asked_again(workbench):
    defects = trained_defects(workbench, ["crack", "none"])
    workbench.backend.engine.execute(f"UPDATE {workbench.table('qa_pairs')} SET messages = NULL WHERE id = :id", {"id": defects.pair_ids[1]})
    [feedback] = feedback_on(workbench, [Said("crack", value="down")])
    service = TrainingTraceService(workbench, LexicalEmbedder())
    trace = service.trace(feedback)
    assert [p.pair_id for p in trace.pairs] == [defects.pair_ids[0]] and trace.training_pairs == 1
    assert _embedded_rows(workbench) == 2 and service.untraced_pairs(feedback) == 0
