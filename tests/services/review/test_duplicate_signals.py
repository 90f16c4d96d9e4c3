"""Near-duplicates, on constructed vectors and pairs with known answers: found at and above the
threshold, not below; grouped by connected components; checked against canonical labels of other
Training Sheets; embeddings stored once; a group resolved at once, recorded in review_events."""

from __future__ import annotations

import numpy as np
import pytest

from data_access.embeddings.lexical import LexicalEmbedder
from services.core.domain.review import ReviewAction
from services.core.domain.signals import SignalKind
from services.core.errors import ValidationError
from services.generate.generation import GenerationService
from services.review.actions import ReviewService
from services.review.duplicate_signals import DUPLICATE_SIMILARITY, DuplicateSignals
from services.review.near_duplicates import groups_of, recall_at, similar_pairs
from services.review.queue import ReviewQueue
from tests.review_builders import build_review_setup, generate
from tests.signal_builders import set_prompt

SMALL = 8
INVOICE = "Invoice INV-0042 from Lakeside Medical Supply, total 420.00 USD, due 2024-03-03. Items: gloves, masks."
REWORDED = "Invoice INV-0042 from Lakeside Medical Supply, total 420.00 USD, due 2024-03-03. Items: gloves and masks."  # 0.979 lexically
OTHER = "Invoice INV-0077 from Harbor Clinic, total 99.00 USD, due 2024-05-01. Items: syringes."


def _unit(v):
    return v / np.linalg.norm(v)


def _at(base: np.ndarray, other: np.ndarray, cosine: float) -> np.ndarray:
    """A unit vector at exactly `cosine` from unit `base`, towards `other`."""
    ortho = _unit(other - (other @ base) * base)
    return cosine * base + np.sqrt(1 - cosine**2) * ortho


def test_pairs_at_the_threshold_are_found_those_below_are_not_and_groups_are_connected():
    rng = np.random.default_rng(7)
    base = [_unit(rng.standard_normal(64)) for _ in range(40)]
    a, b = base[0], base[1]
    vectors = np.array([
        a, _at(a, b, 0.97), _at(_at(a, b, 0.97), base[2], 0.97),  # a chain: one group of three
        base[3], _at(base[3], base[4], 0.93),  # below the threshold: no group
        base[5], base[5].copy(),  # identical: always found
        *base[6:],
    ], dtype=np.float32)
    edges = similar_pairs(vectors, 0.95)
    assert all(s >= 0.95 for s in edges.similarity)
    found = {(int(f), int(s)) for f, s in zip(edges.first, edges.second, strict=True)}
    assert {(0, 1), (1, 2), (5, 6)} <= found and (3, 4) not in found
    groups = groups_of(len(vectors), edges)
    assert groups[0] == groups[1] == groups[2] and groups[3] != groups[4] and groups[5] == groups[6]
    assert len(set(groups.tolist())) == len(vectors) - 3


def test_the_recall_at_the_threshold_is_what_the_constants_promise():
    assert recall_at(DUPLICATE_SIMILARITY) > 0.99 and recall_at(0.5) < recall_at(0.9) < recall_at(0.99)


@pytest.fixture
def setup(invoice_source):
    return build_review_setup(invoice_source, items=SMALL, with_source=False)


def _pairs(wb, training_sheet_id):
    return {p.item_ref: p for p in GenerationService(wb).first_pairs(training_sheet_id, 100)}


def _signal(wb, pair_id):
    return next(s for s, _ in DuplicateSignals(wb)._store.for_pair(pair_id) if s.kind == SignalKind.DUPLICATE)


def test_near_duplicate_prompts_of_a_sheet_form_one_group_with_their_reason(invoice_source, setup):
    ts = setup.training_sheet.id
    pairs = _pairs(invoice_source, ts)
    for ref, prompt in (("INV-0004", INVOICE), ("INV-0005", INVOICE), ("INV-0006", REWORDED), ("INV-0007", OTHER)):
        set_prompt(invoice_source, pairs[ref], prompt)
    duplicates = DuplicateSignals(invoice_source, LexicalEmbedder())
    assert duplicates.refresh(ts) == SMALL
    found = _signal(invoice_source, pairs["INV-0004"].id)
    assert found.flagged and found.group_id is not None
    assert found.reason == "Near-duplicate of 2 other pair(s) of this sheet (INV-0005, INV-0006); closest similarity 1.000."
    assert [m.item_ref for m in duplicates.group(ts, found.group_id)] == ["INV-0004", "INV-0005", "INV-0006"]
    assert not _signal(invoice_source, pairs["INV-0007"].id).flagged
    assert duplicates.refresh(ts) == 0  # nothing changed: nothing grouped again
    stored = invoice_source.backend.engine.scalar(f"SELECT count(*) FROM {invoice_source.table('text_embeddings')}")
    set_prompt(invoice_source, pairs["INV-0007"], INVOICE)  # joins the group; its text is embedded already
    assert duplicates.refresh(ts) == SMALL
    assert invoice_source.backend.engine.scalar(f"SELECT count(*) FROM {invoice_source.table('text_embeddings')}") == stored
    regrouped = _signal(invoice_source, pairs["INV-0007"].id)  # a group is named by its smallest pair id: it may change
    assert len(duplicates.group(ts, regrouped.group_id)) == 4


def test_a_prompt_nearly_repeating_an_item_labeled_in_another_training_sheet_is_flagged(invoice_source, setup):
    first = _pairs(invoice_source, setup.training_sheet.id)
    second_sheet = generate(invoice_source, setup.sheet.id, setup.template.id)
    second = _pairs(invoice_source, second_sheet.id)
    labeled = first["INV-0001"]  # pre-approved from its canonical label
    set_prompt(invoice_source, second["INV-0006"], labeled.messages[-2].content)
    DuplicateSignals(invoice_source, LexicalEmbedder()).refresh(second_sheet.id)
    found = _signal(invoice_source, second["INV-0006"].id)
    assert "1 item(s) with a canonical label (INV-0001)" in found.reason
    assert not _signal(invoice_source, second["INV-0002"].id).flagged  # its own item labeled elsewhere is no duplicate


def test_resolving_a_group_keeps_one_and_rejects_the_undecided_rest_in_one_recorded_event(invoice_source, setup):
    ts = setup.training_sheet.id
    pairs = _pairs(invoice_source, ts)
    for ref in ("INV-0004", "INV-0005", "INV-0006"):
        set_prompt(invoice_source, pairs[ref], INVOICE)
    duplicates = DuplicateSignals(invoice_source, LexicalEmbedder())
    duplicates.refresh(ts)
    queue = ReviewQueue(invoice_source)
    flagged = queue.pair(pairs["INV-0006"].id)
    ReviewService(invoice_source).flag(flagged, flagged.row_version, "Ask the vendor")  # a person's decision stays
    group = _signal(invoice_source, pairs["INV-0004"].id).group_id
    with pytest.raises(ValidationError, match="not in this near-duplicate group"):
        duplicates.resolve(ts, group, pairs["INV-0007"].id)
    resolved = duplicates.resolve(ts, group, pairs["INV-0004"].id)
    assert (resolved.rejected, resolved.left_alone) == (1, 1)
    assert queue.pair(pairs["INV-0005"].id).status == "rejected"
    assert queue.pair(pairs["INV-0004"].id).status == "unlabeled" and queue.pair(pairs["INV-0006"].id).status == "flagged"
    [event] = [e for e in ReviewService(invoice_source).recent_events(ts) if e.action == ReviewAction.RESOLVE_DUPLICATES]
    assert event.affected_count == 1 and group in event.bulk_filter
