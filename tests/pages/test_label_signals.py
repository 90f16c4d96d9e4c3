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
    assert "Masked: `**** ***th`, `***-**-**34` in the prompt." in warning  # what was found, never the values
    assert "John Smith" not in warning and "XJ4-55-1234" not in warning
    assert ReviewService(invoice_source).constraint_audit(pair.id) == []  # shown, not decided
    app.button(key=f"review_card_signals_tighten_{pair.id}").click().run()
    assert not app.exception and not app.error
    [audit] = ReviewService(invoice_source).constraint_audit(pair.id)
    assert audit.new.data_classification == "restricted" and "training" in audit.new.prohibited_uses
    assert any("Governance tightened for personal data" in s.value for s in app.success)
    assert any("already keeps it out of training" in c.value for c in app.caption)


def test_a_near_duplicate_group_is_shown_on_the_card_and_resolved_in_one_click(open_page, setup, invoice_source):
    setup, _ = setup
    pairs = {p.item_ref: p for p in GenerationService(invoice_source).first_pairs(setup.training_sheet.id, 100)}
    for ref in ("INV-0004", "INV-0006"):
        set_prompt(invoice_source, pairs[ref], "Invoice INV-0042 from Lakeside Medical Supply, total 420.00 USD.")
    app = open_page("pages/label.py", {"training_sheet": setup.training_sheet.id})
    app.selectbox(key="label_filters_signal").select("duplicate").run()
    assert not app.exception
    assert next(m.value for m in app.markdown if m.value.startswith("**INV-")).startswith("**INV-0004**")
    [info] = [i.value for i in app.info if "Duplicate signal" in i.value]
    assert "Near-duplicate of 1 other pair(s) of this sheet (INV-0006)" in info
    app.button(key=f"review_card_signals_resolve_{pairs['INV-0004'].id}").click().run()
    assert not app.exception and not app.error
    assert any("rejected 1 near-duplicate(s)" in s.value for s in app.success)
    statuses = {p.item_ref: p.status for p in GenerationService(invoice_source).first_pairs(setup.training_sheet.id, 100)}
    assert (statuses["INV-0004"], statuses["INV-0006"]) == ("unlabeled", "rejected")


def test_a_large_backlog_of_signals_is_computed_by_a_job_the_compute_button_starts(open_page, setup, invoice_source, monkeypatch):
    import services.review.signals as signals_module
    from services.core.jobs import JobRunner
    from services.review.signals_job import SignalsJobs

    setup, _ = setup
    ts = setup.training_sheet.id
    monkeypatch.setattr(signals_module, "INLINE_REFRESH_LIMIT", 2)
    app = open_page("pages/label.py", {"training_sheet": ts})
    assert not app.exception
    assert any(f"not computed yet for {SMALL} pairs" in i.value for i in app.info)
    assert app.selectbox(key="label_filters_signal").format_func("pii") == "Personal data found (0)"
    app.button(key=f"signals_refresh_{ts}").click().run()
    assert not app.exception
    job = SignalsJobs(invoice_source).latest(ts)
    assert job is not None and JobRunner(invoice_source).wait(job.id, 120).status == "succeeded"
    app.run()
    assert not app.exception
    assert not any("not computed yet" in i.value for i in app.info)
    assert app.selectbox(key="label_filters_signal").format_func("pii") == "Personal data found (1)"
