"""Bulk approval by AI confidence knows how many of its pairs are likely right, or refuses."""

import pytest

from services.core.domain.review import QueueFilter, ReviewAction
from services.core.errors import ValidationError
from services.generate.draft_calibration import CONFIG_KEY
from services.generate.generation import GenerationService
from services.generate.training_sheets_store import TrainingSheetsStore
from services.labels.canonical_labels import CanonicalLabelService
from services.review.actions import ReviewService
from services.review.draft_confidence import confidence_note, draft_calibration
from tests.review_builders import STARTING_LABELS, build_review_setup


@pytest.fixture
def setup(invoice_source):
    return build_review_setup(invoice_source, with_source=False)


def _forget_calibration(wb, training_sheet_id):
    """As a Training Sheet drafted before confidences were measured keeps it: no drafter's record."""
    store = TrainingSheetsStore(wb.backend.engine, wb.table("training_sheets"), wb.table("qa_pairs"))
    config = dict(store.get(training_sheet_id).generation_config)
    config.pop(CONFIG_KEY)
    store.set_generation_config(training_sheet_id, config)


def test_a_bulk_approval_says_how_many_of_its_pairs_drafts_like_them_got_right(invoice_source, setup):
    review, ts = ReviewService(invoice_source), setup.training_sheet.id
    city = review.plan_bulk(ts, QueueFilter(confidence_min=0.95), ReviewAction.BULK_APPROVE)
    assert (city.count, city.agreement.rate, city.agreement.measured_on, city.refusal) == (19, 1.0, 11, "")
    lakeside = review.plan_bulk(ts, QueueFilter(confidence_max=0.8), ReviewAction.BULK_APPROVE)
    assert (lakeside.count, lakeside.agreement.rate, lakeside.agreement.measured_on) == (18, 0.75, 12)
    assert lakeside.agreement.sentence() == (
        "Drafts at these confidences agreed with experts 75% of the time (measured on 12 labeled items): "
        "of these 18 pairs, expect about 14 to be what an expert would say and 4 not."
    )
    everything = review.plan_bulk(ts, QueueFilter(), ReviewAction.BULK_APPROVE)
    assert (everything.count, everything.agreement.measured_on, everything.agreement.expected_agreed) == (37, 23, 19 + 18 * 0.75)


def test_approving_by_a_confidence_nobody_measured_is_refused_and_changes_nothing(invoice_source, setup):
    review, ts = ReviewService(invoice_source), setup.training_sheet.id
    _forget_calibration(invoice_source, ts)
    high = QueueFilter(confidence_min=0.95)
    plan = review.plan_bulk(ts, high, ReviewAction.BULK_APPROVE)
    assert plan.count == 19 and plan.agreement is None
    assert plan.refusal.startswith("Approving by AI confidence needs to know how often drafts at that confidence agree with experts")
    assert "their confidence is not measured against the experts' labels" in plan.refusal
    with pytest.raises(ValidationError, match="Review them one by one"):
        review.bulk_approve(ts, high)
    assert CanonicalLabelService(invoice_source).count(setup.sheet.id) == STARTING_LABELS
    # Without a confidence filter it is a person's decision about the whole queue, as before: allowed, unmeasured.
    assert review.plan_bulk(ts, QueueFilter(), ReviewAction.BULK_APPROVE).refusal == ""


def test_the_review_card_note_gives_the_agreement_of_the_pairs_band(invoice_source, setup):
    ts = setup.training_sheet.id
    pairs = {p.item_ref: p for p in GenerationService(invoice_source).first_pairs(ts, 100)}
    calibration = draft_calibration(invoice_source, ts)
    assert confidence_note(calibration, pairs["INV-0005"]).text == (
        "Drafts at this confidence agreed with experts 75% of the time, on 12 labeled items (each drafted from the others); "
        "always answering the most common label agrees 61%."
    )
    assert confidence_note(calibration, pairs["INV-0002"]) is None  # pre-approved from a canonical label
    _forget_calibration(invoice_source, ts)
    note = confidence_note(draft_calibration(invoice_source, ts), pairs["INV-0005"])
    assert note.text.startswith("AI confidence: not measured against the experts' labels") and not note.no_suggestion
