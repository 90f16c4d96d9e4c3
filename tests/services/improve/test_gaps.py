"""Gap analysis on constructed feedback with known answers: training counts from the lineage, the
feedback's error rate per predicted value, confusions, new values and ranked recommendations."""

from __future__ import annotations

import pytest

from services.core.errors import NotFoundError
from services.improve.feedback_store import FeedbackStore
from services.improve.gaps import Action, GapService
from services.improve.records import FeedbackKind, FeedbackOrigin, FeedbackStatus, NewFeedback
from tests.improve_builders import MODEL, Said, feedback_on, trained_defects

# Trained on 8 crack, 6 inclusion, 1 delamination, 5 none (an average of 5 pairs per value).
TRAINING = ["crack"] * 8 + ["inclusion"] * 6 + ["delamination"] + ["none"] * 5
SAID = (
    # crack: 11 judged, 5 negative (4 corrected to a value nobody trained, 1 thumbs down)
    [Said("crack", "up")] * 6 + [Said("crack", corrected="micro-crack")] * 4 + [Said("crack", "down")]
    # inclusion: 6 judged, none negative (a correction that keeps the defect type judges another field)
    + [Said("inclusion", "up")] * 5 + [Said("inclusion", corrected="inclusion")]
    # delamination: 6 judged, 4 negative
    + [Said("delamination", "up")] * 2 + [Said("delamination", "down")] + [Said("delamination", corrected="crack")] * 2
    + [Said("delamination", corrected="none")]
    # none: 2 judged, both negative: too few for a rate
    + [Said("none", "down"), Said("none", corrected="inclusion")]
)


@pytest.fixture
def judged(workbench):
    trained_defects(workbench, TRAINING)
    feedback_on(workbench, SAID)
    return workbench


def _by_value(report):
    return {v.value: (v.in_schema, v.training_pairs, v.feedback, v.negative, v.corrected_to) for v in report.values}


def test_each_value_has_its_training_pairs_and_its_feedback_counted(judged):
    report = GapService(judged).report(MODEL, "1")
    assert report.fields == ("defect_type",) and report.feedback == len(SAID)
    assert _by_value(report) == {
        "crack": (True, 8, 11, 5, 2),
        "inclusion": (True, 6, 6, 0, 1),
        "delamination": (True, 1, 6, 4, 0),
        "none": (True, 5, 2, 2, 1),
        "micro-crack": (False, 0, 0, 0, 4),
    }
    assert [v.value for v in report.new_values] == ["micro-crack"]


def test_the_most_confused_values_come_first(judged):
    report = GapService(judged).report(MODEL, "1")
    assert [(c.predicted, c.corrected, c.count) for c in report.confusions] == [
        ("crack", "micro-crack", 4), ("delamination", "crack", 2), ("delamination", "none", 1), ("none", "inclusion", 1),
    ]


def test_recommendations_are_ranked_by_the_feedback_they_answer_each_with_its_numbers(judged):
    report = GapService(judged).report(MODEL, "1")
    assert [(r.value, r.action, r.feedback_answered) for r in report.recommendations] == [
        ("crack", Action.REVIEW_LABELS, 5), ("micro-crack", Action.ADD_VALUE, 4), ("delamination", Action.LABEL_MORE, 4),
    ]
    assert [r.sentence for r in report.recommendations] == [
        "crack: 8 training pairs, 45% of its 11 feedback negative, most often corrected to micro-crack (4): review its training labels.",
        "micro-crack: named by 4 corrections, but neither the output schema nor the training set has it: add to the schema and label pairs for it.",
        "delamination: 1 training pair, 67% of its 6 feedback negative, most often corrected to crack (2): label more.",
    ]


def test_low_confidence_entries_dismissed_feedback_and_other_versions_do_not_count(judged):
    store = FeedbackStore(judged)
    [unsure] = feedback_on(judged, [Said("inclusion")], start=100)
    store.set_status(unsure.id, FeedbackStatus.DISMISSED, by="senior@example.com", expected_version=1)
    store.add(NewFeedback("log-1-100", FeedbackKind.LOW_CONFIDENCE, FeedbackOrigin.LOW_CONFIDENCE, "rule"))
    feedback_on(judged, [Said("inclusion", "down")] * 3, version="2", start=200)
    report = GapService(judged).report(MODEL, "1")
    assert report.feedback == len(SAID) and _by_value(report)["inclusion"] == (True, 6, 6, 0, 1)


def test_without_feedback_only_the_training_counts_and_the_untaught_values_show(workbench):
    trained_defects(workbench, ["crack", "crack", "none"])
    report = GapService(workbench).report(MODEL, "1")
    assert report.feedback == 0 and report.confusions == ()
    assert _by_value(report) == {"crack": (True, 2, 0, 0, 0), "inclusion": (True, 0, 0, 0, 0),
                                 "delamination": (True, 0, 0, 0, 0), "none": (True, 1, 0, 0, 0)}
    assert [(r.value, r.action) for r in report.recommendations] == [("delamination", Action.LABEL_MORE), ("inclusion", Action.LABEL_MORE)]


def test_the_version_picker_lists_trained_versions_with_their_judged_feedback(judged):
    trained_defects(judged, ["none"], model_name="other_model")
    choices = {c.model_id: c.feedback for c in GapService(judged).versions()}
    assert choices == {f"{MODEL}/1": len(SAID), "other_model/1": 0}


def test_a_version_without_lineage_has_no_gap_report(workbench):
    with pytest.raises(NotFoundError, match="never/1 has no training lineage"):
        GapService(workbench).report("never", "1")


def test_answers_missing_the_field_are_counted_apart_and_sent_to_their_format(workbench):
    from tests.monitor_builders import logged_request, write_log

    trained_defects(workbench, ["crack", "none"])
    write_log(workbench, [logged_request(i, prediction="I think it is cracked.", model_name=MODEL) for i in range(6)])
    store = FeedbackStore(workbench)
    for i in range(6):
        store.add(NewFeedback(f"log-1-{i}", FeedbackKind.RATING, FeedbackOrigin.API, "app@example.com", value="down" if i < 4 else "up"))
    report = GapService(workbench).report(MODEL, "1")
    assert _by_value(report)["(no value)"] == (False, 0, 6, 4, 0)
    first = report.recommendations[0]
    assert (first.value, first.action, first.sentence) == (
        "(no value)", Action.CHECK_FORMAT,
        "Answers without a defect_type: 67% of their 6 feedback negative: check the answers' format: the field is missing or the answer is not JSON.",
    )
