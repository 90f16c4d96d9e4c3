"""The PRD's lineage queries against a real store: model → Training Sheets → pairs → canonical
labels → source items, Training Sheet → models, and models compared on one Training Sheet."""

from __future__ import annotations

import pytest

from services.core.domain.qa_pair import LabelingMode
from services.train.lineage import LineageService
from tests.review_builders import generate, publish_template
from tests.train_model_builders import labeled_training_sheet, recorded_run


@pytest.fixture
def two_sheets(workbench):
    """Training Sheet A (10 labeled pairs) and B (the same items under a second template)."""
    a = labeled_training_sheet(workbench)
    template = publish_template(workbench, name="Invoice urgency, second wording")
    b = generate(workbench, a.training_sheet.sheet_id, template.id, LabelingMode.MANUAL)
    b_ids = tuple(r["id"] for r in workbench.backend.engine.query(
        f"SELECT id FROM {workbench.table('qa_pairs')} WHERE training_sheet_id = :id ORDER BY ordinal", {"id": b.id}
    ))
    return a, b, b_ids


def test_the_models_trained_on_a_training_sheet_include_runs_that_combined_it_with_another(workbench, two_sheets):
    a, b, b_ids = two_sheets
    only_a = recorded_run(workbench, (a.training_sheet.id,), a.pair_ids[:4], a.pair_ids[4:6], model_name="urgency_a", accuracy=0.5, base_accuracy=0.25)
    both = recorded_run(workbench, (b.id, a.training_sheet.id), b_ids[:3] + a.pair_ids[:3], (), model_name="urgency_ab", accuracy=1.0, base_accuracy=0.25)
    recorded_run(workbench, (b.id,), b_ids[:4], (), model_name="urgency_b", accuracy=0.75, base_accuracy=0.25)

    lineage = LineageService(workbench)
    assert {m.model_id for m in lineage.models_trained_on(a.training_sheet.id)} == {only_a.model_id, both.model_id}
    assert {m.model_id for m in lineage.models_trained_on(b.id)} == {both.model_id, "urgency_b/1"}
    assert [m.model_id for m in lineage.models()] == ["urgency_b/1", both.model_id, only_a.model_id]  # newest first
    assert {s.id for s in lineage.training_sheets_of(both.model_id)} == {a.training_sheet.id, b.id}
    (sheet,) = lineage.training_sheets_of(only_a.model_id)
    assert (sheet.name, sheet.labeled_pairs, sheet.labeling_mode) == (a.training_sheet.name, 10, "manual")


def test_the_pairs_that_trained_a_model_lead_to_their_canonical_labels_and_source_items(workbench, two_sheets):
    a, _, _ = two_sheets
    run = recorded_run(workbench, (a.training_sheet.id,), a.pair_ids[:4], a.pair_ids[4:6], model_name="urgency_a", accuracy=0.5, base_accuracy=0.25)
    lineage = LineageService(workbench)

    pairs = lineage.pairs_of(run.model_id)
    assert [p.pair_id for p in pairs] == list(a.pair_ids[:6])
    assert [p.split for p in pairs] == ["train"] * 4 + ["validation"] * 2
    first = pairs[0]
    assert first.item_ref == "INV-0000" and first.status == "labeled"
    assert first.canonical_label_id and first.label_data == {"urgency": "routine"} and first.label_version == 1
    assert first.messages[-1].content == '{"urgency": "routine"}'
    assert [p.pair_id for p in lineage.pairs_of(run.model_id, limit=2, offset=3)] == list(a.pair_ids[3:5])

    item = lineage.source_item(pairs[5])
    assert item.item_ref == "INV-0005" and float(item.fields["total_amount"]) == 50.0


def test_models_on_one_training_sheet_are_compared_best_first_beside_their_base(workbench, two_sheets):
    a, _, _ = two_sheets
    recorded_run(workbench, (a.training_sheet.id,), a.pair_ids[:4], (), model_name="slow_lr", accuracy=0.5, base_accuracy=0.25, learning_rate=1e-4)
    recorded_run(workbench, (a.training_sheet.id,), a.pair_ids[:6], (), model_name="fast_lr", accuracy=1.0, base_accuracy=0.25)

    compared = LineageService(workbench).compare_models(a.training_sheet.id)
    assert [(c.model_name, c.accuracy, c.base_accuracy, c.train_pair_count) for c in compared] == [
        ("fast_lr", 1.0, 0.25, 6), ("slow_lr", 0.5, 0.25, 4)
    ]
    assert compared[0].base_model == "SmolLM2-135M-Instruct" and float(compared[1].learning_rate) == 1e-4
