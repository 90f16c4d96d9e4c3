"""A draft's confidence means what it says: calibration math on data whose answers are known."""

import functools
import random

import numpy as np
import pytest

from data_access.embeddings.lexical import LexicalEmbedder
from services.generate.draft_calibration import (
    MIN_BAND_ITEMS,
    DraftCalibration,
    calibrate,
    label_key,
    majority_baseline,
    wilson_lower_bound,
)
from services.generate.drafting import DraftRequest
from services.generate.item_features import ItemInput, fit_feature_space
from services.generate.label_vote import ExpertLabels
from services.generate.offline_drafter import LabeledExample, NearestLabelDrafter

GOOD, BAD = '{"verdict": "good"}', '{"verdict": "bad"}'


def _drafter(examples: list[LabeledExample], fields: tuple[str, ...] = ("reading",)) -> NearestLabelDrafter:
    fit = functools.partial(
        fit_feature_space, field_names=list(fields), embedder=LexicalEmbedder, describe_image=lambda path: None
    )
    return NearestLabelDrafter(examples, fit)


def _example(ref: str, response: str, **fields: object) -> LabeledExample:
    return LabeledExample(ItemInput(ref, fields), response)


def _request(ref: str, **fields: object) -> DraftRequest:
    return DraftRequest(ref, (), fields=fields)


def test_a_field_that_decides_the_label_gives_drafts_that_agree_and_say_so():
    examples = [_example(f"R{i:02d}", BAD if i % 3 == 0 else GOOD, reading=float(i % 3 == 0) * 10 + i / 100) for i in range(30)]
    drafter = _drafter(examples)
    calibration = drafter.calibration
    assert (calibration.labeled, calibration.agreed, calibration.majority_agreed, calibration.offered) == (30, 30, 20, True)
    drafts = {d.item_ref: d for d in drafter.draft([_request("NEW-1", reading=10.5), _request("NEW-2", reading=0.2)])}
    assert (drafts["NEW-1"].text, drafts["NEW-1"].confidence) == (BAD, 1.0)
    assert (drafts["NEW-2"].text, drafts["NEW-2"].confidence) == (GOOD, 1.0)
    assert "On the 30 items with an expert label, each drafted from the others, its drafts agreed with the expert 100%" in drafter.describe()


def test_a_field_that_says_nothing_about_the_label_offers_no_drafts_and_no_confidence():
    rng = random.Random(4)
    examples = [_example(f"R{i:02d}", GOOD if rng.random() < 0.6 else BAD, reading=rng.gauss(0, 1)) for i in range(40)]
    drafter = _drafter(examples)
    calibration = drafter.calibration
    assert calibration.labeled == 40 and not calibration.offered
    assert wilson_lower_bound(calibration.agreed, 40) <= calibration.majority_accuracy
    assert [(d.text, d.confidence, d.error) for d in drafter.draft([_request("NEW", reading=0.1)])] == [(None, None, None)]
    assert "It offers no drafts" in drafter.describe()


def test_leave_one_out_never_lets_an_item_vote_for_its_own_label():
    """Labels alternate along a line: an item's nearest others all carry the other label, so
    drafted from the others every item is wrong. Were it among its own neighbours, it would win."""
    examples = [_example(f"R{i:02d}", GOOD if i % 2 else BAD, reading=float(i)) for i in range(20)]
    assert _drafter(examples).calibration.agreed == 0
    labels = ExpertLabels.of([e.response for e in examples])
    distances = np.array([(5.0 - i) ** 2 for i in range(20)])
    nearest, _ = labels.nearest(distances, skip=5)
    assert 5 not in nearest and nearest[:2] == [4, 6]


def test_an_identifier_and_a_constant_are_left_out_and_the_description_says_which_fields_count():
    examples = [_example(f"R{i:02d}", BAD if i < 10 else GOOD, serial=f"SN-{i:05d}", site="Lakeside", reading=float(i)) for i in range(20)]
    description = _drafter(examples, ("reading", "serial", "site")).describe()
    assert "comparing reading (number) 100%" in description
    assert "(no help: serial, site)" in description


def test_bands_follow_the_raw_score_and_a_confidence_is_its_bands_measured_agreement():
    scores = [i / 30 for i in range(30)]
    agreed = [i % 2 == 0 for i in range(10)] + [i not in (13, 17) for i in range(10, 20)] + [True] * 10
    expected = ["a" if i % 2 else "b" for i in range(30)]  # the majority answer agrees half the time
    drafted = [label if ok else "other" for label, ok in zip(expected, agreed, strict=True)]
    calibration = calibrate("test", scores, drafted, expected)
    assert [(b.drafts, b.agreed, b.agreement) for b in calibration.bands] == [(10, 5, 0.5), (10, 8, 0.8), (10, 10, 1.0)]
    assert calibration.offered
    assert calibration.confidence(0.99) == 1.0 and calibration.confidence(0.5) == 0.8 and calibration.confidence(-1.0) == 0.5
    assert calibration.band_of(0.8).drafts == 10 and calibration.band_of(0.75) is None


def test_a_band_whose_agreement_falls_below_the_band_under_it_is_pooled_with_it():
    scores = [i / 30 for i in range(30)]
    agreed = [i < 6 for i in range(10)] + [i < 14 for i in range(10, 20)] + [True] * 10  # 60 %, then 40 %, then 100 %
    calibration = calibrate("test", scores, ["a" if ok else "b" for ok in agreed], ["a"] * 30)
    assert [(b.drafts, b.agreed, b.agreement) for b in calibration.bands] == [(20, 10, 0.5), (10, 10, 1.0)]


def test_equal_raw_scores_stay_in_one_band():
    scores = [0.2] * 5 + [0.6] * 25
    calibration = calibrate("test", scores, ["a"] * 30, ["a"] * 30)
    assert all(b.drafts >= MIN_BAND_ITEMS for b in calibration.bands)
    assert not any(b.min_score < 0.6 < b.max_score or b.min_score < 0.2 < b.max_score for b in calibration.bands)


@pytest.mark.parametrize(
    ("agreed", "labeled", "majority", "offered", "why"),
    [
        (5, 5, 1, False, "only 5 item(s) of this type have an expert label; at least 10 are needed"),
        (9, 12, 6, False, "75% of the time, against 50% for always answering the most common label; on 12 items that difference could be chance"),
        (20, 40, 24, False, "against 60% for always answering the most common label; that is no better"),
        (33, 40, 20, True, ""),
    ],
)
def test_drafts_are_offered_only_when_they_beat_the_majority_answer_beyond_chance(agreed, labeled, majority, offered, why):
    calibration = DraftCalibration("test", labeled, agreed, "a", majority, ())
    assert calibration.offered is offered
    assert why in calibration.why_not_offered() and bool(calibration.why_not_offered()) is not offered


def test_the_majority_answer_and_label_comparison_ignore_key_order_and_spacing():
    assert label_key('{"b": 1, "a": "x"}') == label_key('{"a":"x","b":1}') and label_key("  two  words ") == "two words"
    assert majority_baseline(["x", "y", "x"]) == ("x", 2) and majority_baseline([]) == ("", 0)


def test_a_calibration_is_kept_with_the_training_sheet_as_it_was_measured():
    calibration = calibrate("offline drafter", [i / 20 for i in range(20)], ["a"] * 15 + ["b"] * 5, ["a"] * 20)
    assert DraftCalibration.from_json(calibration.to_json()) == calibration
    assert DraftCalibration.from_json(None) is None


def test_items_nothing_tells_apart_are_drafted_from_nobody_in_particular_and_it_says_so():
    examples = [_example(f"R{i:02d}", GOOD if i % 3 else BAD, site="Lakeside") for i in range(15)]
    drafter = _drafter(examples, ("site",))
    assert "comparing nothing (no field the prompt reads varies, and there is no image)" in drafter.describe()
    assert not drafter.calibration.offered
    assert [d.text for d in drafter.draft([_request("NEW", site="Lakeside")])] == [None]
    assert not _drafter([]).calibration.offered and "only 0 item(s)" in _drafter([]).describe()
    one = _drafter([_example("R00", GOOD, site="Lakeside", reading=1.0)], ("site", "reading"))
    assert "only 1 item(s)" in one.describe() and [d.text for d in one.draft([_request("NEW", reading=1.0)])] == [None]


def test_a_classification_is_voted_field_by_field_whatever_the_order_of_its_keys():
    labels = ExpertLabels.of(['{"defect": "crack", "severity": "minor"}', '{"severity": "major", "defect": "crack"}'])
    assert labels.fields == ("defect", "severity")
    vote = labels.vote(np.array([0.0, 1.0]))
    assert vote.values == ('"crack"', '"minor"') and vote.key == label_key('{"defect": "crack", "severity": "minor"}')
    assert ExpertLabels.of(['{"defect": "crack"}', "free text"]).fields == ()  # not every label is an object: voted whole
