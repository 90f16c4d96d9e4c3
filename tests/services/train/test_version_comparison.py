"""Version n and n+1 of a model compared on the same evaluation pairs, and the feedback a version learned from."""

from __future__ import annotations

from services.train.lineage import LineageService
from services.train.version_comparison import VersionComparisonService
from tests.retrain_builders import MODEL, feedback_pairs
from tests.train_model_builders import labeled_training_sheet, recorded_run


def _two_versions(wb, *, second_eval_ids=None):
    labeled = labeled_training_sheet(wb, items=8)
    ts = labeled.training_sheet.id
    recorded_run(wb, (ts,), labeled.pair_ids[:4], labeled.pair_ids[4:6], model_name=MODEL, accuracy=0.5, base_accuracy=0.25)
    made = feedback_pairs(wb, ts, 2)
    second = recorded_run(wb, (ts,), (*labeled.pair_ids[:4], *(p for _, p in made)), labeled.pair_ids[4:6], model_name=MODEL,
                          accuracy=1.0, base_accuracy=0.25, version="2")
    return labeled, made, second


def test_the_next_version_is_scored_beside_the_previous_on_the_same_held_out_pairs(workbench):
    _two_versions(workbench)
    service = VersionComparisonService(workbench)
    assert service.previous_version(MODEL, "2") == "1" and service.previous_version(MODEL, "1") is None
    compared = service.compare(MODEL, "1", "2")
    assert compared is not None and compared.pair_count == 4
    assert (compared.previous.accuracy, compared.current.accuracy) == (0.5, 1.0)
    assert [p.previous_correct for p in compared.pairs] == [True, True, False, False]
    assert all(p.current_correct for p in compared.pairs)
    assert compared.summary == "On the same 4 held-out pairs: accuracy v1 50% → v2 100%, F1 0.67 → 1.00."


def test_versions_evaluated_on_different_pairs_are_not_compared_as_if_they_were_the_same(workbench):
    _, _, second = _two_versions(workbench)
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('model_evaluations')} SET answers = replace(answers, 'eval-', 'other-') WHERE lineage_id = :id",
        {"id": second.id},
    )
    compared = VersionComparisonService(workbench).compare(MODEL, "1", "2")
    assert compared is not None and compared.previous is None and compared.pair_count == 0
    assert "share no evaluation pair" in compared.summary


def test_a_versions_lineage_names_the_feedback_items_its_pairs_came_from(workbench):
    _, made, second = _two_versions(workbench)
    lineage = LineageService(workbench)
    assert lineage.feedback_of(second.model_id) == sorted(f for f, _ in made)
    assert lineage.feedback_of(f"{MODEL}/1") == []
