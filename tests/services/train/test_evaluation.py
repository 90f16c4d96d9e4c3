"""Scoring constructed answers whose right scores are worked out by hand."""

from __future__ import annotations

import pytest

from services.core.domain.template import FieldType, SchemaField
from services.train.evaluation import EvaluationItem, compare, macro_f1, score_answers, token_f1

URGENCY = (SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")),)
ENTITIES = (
    SchemaField("patient_name", FieldType.STRING),
    SchemaField("total_amount", FieldType.NUMBER),
    SchemaField("codes", FieldType.ARRAY, required=False),
)


def _urgency_items(*labels: str) -> list[EvaluationItem]:
    return [EvaluationItem(f"p{i}", f'{{"urgency": "{label}"}}', URGENCY) for i, label in enumerate(labels)]


def test_a_classifier_is_scored_by_exact_match_and_macro_f1_over_the_classes():
    items = _urgency_items("urgent", "urgent", "routine", "routine")
    answers = ['{"urgency": "urgent"}', 'Sure! ```json\n{"urgency": "routine"}\n```', '{"urgency": "Routine"}', "I cannot tell."]
    score = score_answers("fine_tuned", items, answers)

    assert [a.correct for a in score.answers] == [True, False, True, False]
    assert score.accuracy == 0.5
    assert score.valid_output_rate == 0.75  # the last answer holds no JSON
    (field,) = score.fields
    assert (field.name, field.exact_match, field.support, field.measure) == ("urgency", 0.5, 4, "macro_f1")
    # urgent: tp 1, fp 0, fn 1 → 2/3; routine: tp 1, fp 1, fn 1 → 1/2
    assert field.f1 == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert score.f1_score == field.f1


def test_structured_fields_match_whatever_the_case_number_format_or_list_order():
    expected = '{"patient_name": "Ada Lovelace", "total_amount": 120.5, "codes": ["99213", "85025"]}'
    items = [EvaluationItem("p0", expected, ENTITIES), EvaluationItem("p1", expected, ENTITIES)]
    answers = [
        '{"patient_name": "ada  lovelace", "total_amount": "120.50", "codes": ["85025", "99213"]}',
        '{"patient_name": "Ada", "total_amount": 120.5}',
    ]
    score = score_answers("fine_tuned", items, answers)

    assert [a.correct for a in score.answers] == [True, False]
    fields = {f.name: f for f in score.fields}
    assert (fields["patient_name"].exact_match, fields["patient_name"].measure) == (0.5, "token_f1")
    assert fields["patient_name"].f1 == pytest.approx((1 + 2 / 3) / 2)  # "Ada" against "Ada Lovelace": p 1, r 1/2
    assert (fields["total_amount"].exact_match, fields["total_amount"].f1) == (1.0, 1.0)
    assert (fields["codes"].exact_match, fields["codes"].measure) == (0.5, "exact_match")
    assert score.accuracy == 0.5


def test_a_field_the_expert_left_empty_is_not_scored():
    items = [EvaluationItem("p0", '{"patient_name": "Ada Lovelace", "total_amount": 10, "codes": null}', ENTITIES)]
    score = score_answers("base", items, ['{"patient_name": "Ada Lovelace", "total_amount": 10, "codes": ["x"]}'])
    assert score.accuracy == 1.0 and {f.name for f in score.fields} == {"patient_name", "total_amount"}


def test_a_plain_text_answer_is_one_free_text_field():
    items = [EvaluationItem("p0", "Routine invoice, pay within 30 days.", ()), EvaluationItem("p1", "Past due: escalate.", ())]
    score = score_answers("fine_tuned", items, ["routine invoice,  pay within 30 days.", "Escalate now"])
    assert [a.correct for a in score.answers] == [True, False]
    (field,) = score.fields
    assert field.name == "answer" and field.measure == "token_f1"
    assert field.f1 == pytest.approx((1 + token_f1("Past due: escalate.", "Escalate now")) / 2)


def test_a_model_that_is_not_better_than_its_base_says_so():
    items = _urgency_items("urgent", "routine")
    same = compare(items, ['{"urgency": "urgent"}', '{"urgency": "urgent"}'], ['{"urgency": "urgent"}', '{"urgency": "urgent"}'])
    assert not same.improved
    assert same.verdict.startswith("Not better than its base model on 2 held-out pairs (accuracy 50% → 50%")
    better = compare(items, ['{"urgency": "urgent"}', "no idea"], ['{"urgency": "urgent"}', '{"urgency": "routine"}'])
    assert better.improved and better.verdict.startswith("Better than its base model")
    assert better.fine_tuned.metrics("fine_tuned")["fine_tuned_exact_match_urgency"] == 1.0


def test_scores_need_one_answer_per_pair():
    with pytest.raises(ValueError, match="1 answers for 2"):
        score_answers("base", _urgency_items("urgent", "routine"), ["x"])


def test_token_and_macro_f1_edge_cases():
    assert token_f1("", "") == 1.0 and token_f1("abc", None) == 0.0
    assert macro_f1([], []) == 0.0
