"""LABEL signals beside each pair, on constructed pairs with known answers: PII found in the
prompt and response with its reason, recomputed when the pair changes, filtered on in the queue,
and a finding that proposes tightening the pair's governance (audited) without deciding anything."""

from __future__ import annotations

import json
import threading

import pytest

from data_access.embeddings.lexical import LexicalEmbedder
from services.core.domain.governance import UsageConstraints
from services.core.domain.review import QueueFilter
from services.core.domain.signals import SignalKind
from services.core.errors import ValidationError
from services.generate.generation import GenerationService
from services.review.actions import ReviewService
from services.review.queue import ReviewQueue
from services.review.signals import PairSignals
from tests.review_builders import build_review_setup
from tests.signal_builders import set_prompt

SMALL = 8  # pairs: enough for findings and clean pairs side by side
ROUNDS = 5  # of a sheet scan racing card scans; one seldom collides, five nearly always did


@pytest.fixture
def setup(invoice_source):
    return build_review_setup(invoice_source, items=SMALL, with_source=False)


def _pairs(wb, setup):
    return {p.item_ref: p for p in GenerationService(wb).first_pairs(setup.training_sheet.id, 100)}


def _pii(signals, pair):
    return next(s for s in signals.for_pair(pair) if s.kind == SignalKind.PII)


def test_personal_data_in_prompt_and_response_is_a_signal_with_its_reason(invoice_source, setup):
    pairs = _pairs(invoice_source, setup)
    set_prompt(invoice_source, pairs["INV-0004"], "Patient: John Smith, NPI 1234567893, SSN 123-45-6789.", '{"urgency": "call jane@example.com"}')
    set_prompt(invoice_source, pairs["INV-0005"], "Provider NPI 1234567894 (check digit fails).")
    signals = PairSignals(invoice_source, LexicalEmbedder())
    assert signals.refresh(setup.training_sheet.id) == SMALL
    queue = ReviewQueue(invoice_source)
    found = _pii(signals, queue.pair(pairs["INV-0004"].id))
    assert found.flagged
    assert found.reason == "Personal data in the prompt: 1 person's name, 1 NPI, 1 SSN; in the response: 1 e-mail address."
    assert found.details["prompt"][1] == {"kind": "npi", "masked": "********93"}  # masked, never the value
    assert "1234567893" not in json.dumps(found.details)
    assert not _pii(signals, queue.pair(pairs["INV-0005"].id)).flagged
    assert signals.flagged_counts(setup.training_sheet.id)["pii"] == 1


def test_a_signal_is_computed_once_and_again_only_when_its_pair_changes(invoice_source, setup):
    pairs = _pairs(invoice_source, setup)
    signals = PairSignals(invoice_source, LexicalEmbedder())
    ts = setup.training_sheet.id
    assert signals.refresh(ts) == SMALL
    assert signals.refresh(ts) == 0  # nothing changed: nothing recomputed
    set_prompt(invoice_source, pairs["INV-0006"], "Member ID: XJ4-55-1234")
    assert signals.refresh_pii(ts) == 1  # the changed pair only
    assert _pii(signals, ReviewQueue(invoice_source).pair(pairs["INV-0006"].id)).flagged
    set_prompt(invoice_source, pairs["INV-0006"], "Nothing personal here.")  # the card recomputes its own pair
    assert not _pii(signals, ReviewQueue(invoice_source).pair(pairs["INV-0006"].id)).flagged


def test_the_queue_filters_on_a_current_signal_only(invoice_source, setup):
    pairs = _pairs(invoice_source, setup)
    ts = setup.training_sheet.id
    set_prompt(invoice_source, pairs["INV-0004"], "DOB: 1984-03-12")
    set_prompt(invoice_source, pairs["INV-0007"], "Call (415) 555-0132")
    PairSignals(invoice_source, LexicalEmbedder()).refresh(ts)
    queue = ReviewQueue(invoice_source)
    flagged = QueueFilter(signal="pii")
    assert {p.item_ref for p in queue.page(ts, flagged).pairs} == {"INV-0004", "INV-0007"}
    set_prompt(invoice_source, pairs["INV-0007"], "No phone any more")  # stale: no longer counts
    assert {p.item_ref for p in queue.page(ts, flagged).pairs} == {"INV-0004"}
    assert "flagged by the pii signal" in flagged.describe()
    with pytest.raises(ValidationError, match="Unknown signal"):
        queue.page(ts, QueueFilter(signal="vibes"))


def test_a_pii_finding_proposes_tighter_governance_and_applies_it_only_on_request_audited(invoice_source, setup):
    pairs = _pairs(invoice_source, setup)
    set_prompt(invoice_source, pairs["INV-0004"], "Insured: Mary Ann Lee")
    signals, queue = PairSignals(invoice_source, LexicalEmbedder()), ReviewQueue(invoice_source)
    pair = queue.pair(pairs["INV-0004"].id)
    finding = _pii(signals, pair)
    assert queue.pair(pair.id).constraints == pair.constraints  # a signal decides nothing by itself
    proposed = signals.proposed_governance(pair, finding)
    assert proposed is not None
    assert "training" in proposed.prohibited_uses and "validation" in proposed.prohibited_uses
    assert proposed.data_classification == "restricted"
    assert set(proposed.allowed_uses) <= set(pair.constraints.allowed_uses)  # never loosens
    tightened = signals.tighten_for_pii(pair, pair.row_version)
    assert not tightened.constraints.permits("training")
    audit = ReviewService(invoice_source).constraint_audit(pair.id)
    assert audit[-1].new.data_classification == "restricted" and audit[-1].reason.startswith("PII signal: Personal data")
    with pytest.raises(ValidationError, match="already tight enough"):
        signals.tighten_for_pii(tightened, tightened.row_version)


def test_a_pair_already_tighter_than_personal_data_requires_gets_no_proposal(invoice_source, setup):
    pairs = _pairs(invoice_source, setup)
    set_prompt(invoice_source, pairs["INV-0004"], "SSN 123-45-6789")
    review, signals = ReviewService(invoice_source), PairSignals(invoice_source, LexicalEmbedder())
    pair = ReviewQueue(invoice_source).pair(pairs["INV-0004"].id)
    pair = review.change_constraints(pair, pair.row_version, UsageConstraints(("testing",), ("training", "validation", "evaluation", "few_shot"), "Locked", "restricted"))
    assert signals.proposed_governance(pair, _pii(signals, pair)) is None


def test_a_small_backlog_is_computed_on_queue_load_and_a_large_one_waits_to_be_asked(invoice_source, setup, monkeypatch):
    import services.review.signals as signals_module

    ts = setup.training_sheet.id
    signals = PairSignals(invoice_source, LexicalEmbedder())
    monkeypatch.setattr(signals_module, "INLINE_REFRESH_LIMIT", SMALL - 1)
    assert signals.refresh_if_small(ts) == SMALL  # too many: nothing computed yet
    assert signals.stale_count(ts) == SMALL
    monkeypatch.setattr(signals_module, "INLINE_REFRESH_LIMIT", SMALL)
    assert signals.refresh_if_small(ts) == 0
    assert signals.stale_count(ts) == 0


def test_a_pair_whose_messages_are_not_chat_json_is_flagged_for_pii_and_breaks_no_other_signal(invoice_source, setup):
    pairs = _pairs(invoice_source, setup)
    invoice_source.backend.engine.execute(
        f"UPDATE {invoice_source.table('qa_pairs')} SET messages = 'not json {{', row_version = row_version + 1 WHERE id = :id",
        {"id": pairs["INV-0004"].id},
    )
    signals = PairSignals(invoice_source, LexicalEmbedder())
    assert signals.refresh(setup.training_sheet.id) == SMALL
    broken = {s.kind: s for s, _ in signals._store.for_pair(pairs["INV-0004"].id)}  # (a QaPair cannot be read from it)
    assert broken["pii"].flagged and "not readable chat JSON" in broken["pii"].reason  # fails closed
    assert broken["quality"].reason == "No response yet: nothing to score."
    assert not _pii(signals, ReviewQueue(invoice_source).pair(pairs["INV-0005"].id)).flagged


def test_the_card_scanning_pairs_while_the_sheet_is_scanned_breaks_neither(invoice_source):
    # The card's one-pair scan and the sheet's scan write the same pairs' PII rows at once; the
    # signal is derived, so whoever writes second writes it again instead of failing.
    wb = invoice_source
    setup = build_review_setup(wb, items=40, with_source=False)
    pairs = list(_pairs(wb, setup).values())
    errors: list[BaseException] = []

    def run(work) -> None:
        try:
            work()
        except BaseException as error:  # surfaced below; a thread's exception is otherwise lost
            errors.append(error)

    for _ in range(ROUNDS):
        wb.backend.engine.execute(f"DELETE FROM {wb.table('pair_signals')}", {})
        sheet = threading.Thread(target=run, args=(lambda: PairSignals(wb).refresh_pii(setup.training_sheet.id),))
        cards = [threading.Thread(target=run, args=(lambda p=p: PairSignals(wb).for_pair(p),)) for p in pairs[:: len(pairs) // 4]]
        for thread in (sheet, *cards):
            thread.start()
        for thread in (sheet, *cards):
            thread.join()
        assert errors == []
        assert all(any(s.kind == SignalKind.PII for s in PairSignals(wb).for_pair(p)) for p in pairs)
