from dataclasses import replace

import pytest

from data_access.identity import User
from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.qa_pair import LabelingMode
from services.generate.generation import GenerationService
from services.generate.reuse_report import ReuseReport
from services.labels.canonical_labels import CanonicalLabelService
from services.review.actions import ReviewService
from tests.review_builders import CALIBRATION_REFS, ITEMS, LABELED_REFS, STARTING_LABELS, build_review_setup, generate


@pytest.fixture
def setup(invoice_source):
    return build_review_setup(invoice_source, with_source=False)


def test_the_first_training_sheet_from_a_sheet_counts_every_reused_label_as_new(invoice_source, setup):
    summary = ReuseReport(invoice_source).summary(setup.training_sheet.id)
    assert (summary.pre_approved, summary.total, summary.previous, summary.labeled_since) == (STARTING_LABELS, ITEMS, None, STARTING_LABELS)
    assert sorted(r.item_ref for r in summary.recent) == sorted([*LABELED_REFS, *CALIBRATION_REFS])


def test_a_label_made_after_the_last_training_sheet_is_named_with_its_labeler_in_the_next_one(invoice_source, setup):
    wb = invoice_source
    dana = replace(wb, backend=replace(wb.backend, user=User("dana@mirion.example", "dana")))
    CanonicalLabelService(dana).save(LabelKey(setup.sheet.id, "INV-0009", "classification"), LabelContent({"urgency": "urgent"}), 0)
    pair = next(p for p in GenerationService(wb).first_pairs(setup.training_sheet.id, 40) if p.item_ref == "INV-0012")
    ReviewService(wb).approve(pair, pair.row_version)  # approved in the first sheet's review: new to the next one too
    second = generate(wb, setup.sheet.id, setup.template.id, LabelingMode.MANUAL)
    summary = ReuseReport(wb).summary(second.id)
    assert summary.previous is not None and summary.previous.id == setup.training_sheet.id
    assert (summary.pre_approved, summary.labeled_since) == (STARTING_LABELS + 2, 2)
    assert [(r.item_ref, r.label_type, r.labeled_by) for r in summary.recent] == [
        ("INV-0012", "classification", "tester@example.com"), ("INV-0009", "classification", "dana@mirion.example"),
    ]
    assert all(r.labeled_at is not None and r.pair_id for r in summary.recent)
    listed = ReuseReport(wb).pre_approved(second.id)
    assert [r.item_ref for r in listed] == ["INV-0001", "INV-0002", "INV-0003", "INV-0009", "INV-0012", *sorted(CALIBRATION_REFS)]
