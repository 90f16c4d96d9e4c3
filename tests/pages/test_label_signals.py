"""LABEL signals on the page: the PII finding beside the pair with its reason, the queue filtered
on it, and the one click that tightens the pair's governance (audited)."""

from __future__ import annotations

import pytest

from services.generate.generation import GenerationService
from services.review.actions import ReviewService
from tests.review_builders import build_review_setup
from tests.signal_builders import set_prompt

SMALL = 8


@pytest.fixture
def setup(invoice_source):
    setup = build_review_setup(invoice_source, items=SMALL, with_source=False)
    pairs = {p.item_ref: p for p in GenerationService(invoice_source).first_pairs(setup.training_sheet.id, 100)}
    set_prompt(invoice_source, pairs["INV-0005"], "Patient: John Smith, member ID: XJ4-55-1234")
    return setup, pairs["INV-0005"]


def test_the_queue_filtered_on_pii_shows_the_finding_and_tightens_its_governance_on_one_click(open_page, setup, invoice_source):
    setup, pair = setup
    app = open_page("pages/label.py", {"training_sheet": setup.training_sheet.id})
    assert not app.exception
    signal = app.selectbox(key="label_filters_signal")
    assert signal.format_func("pii") == "Personal data found (1)"
    signal.select("pii").run()
    assert next(m.value for m in app.markdown if m.value.startswith("**INV-")).startswith("**INV-0005**")
    [warning] = [w.value for w in app.warning if "PII signal" in w.value]
    assert "in the prompt: 1 person's name, 1 insurance or member id" in warning
    assert ReviewService(invoice_source).constraint_audit(pair.id) == []  # shown, not decided
    app.button(key=f"review_card_signals_tighten_{pair.id}").click().run()
    assert not app.exception and not app.error
    [audit] = ReviewService(invoice_source).constraint_audit(pair.id)
    assert audit.new.data_classification == "restricted" and "training" in audit.new.prohibited_uses
    assert any("Governance tightened for personal data" in s.value for s in app.success)
    assert any("already keeps it out of training" in c.value for c in app.caption)
