"""The quality signal on constructed pairs with known answers: the schema check, agreement with
the canonical labels of the most similar items, the score in qa_pairs.quality_score unless
another source (the DSPy optimizer) wrote it, and the reasons kept beside it."""

from __future__ import annotations

import pytest

from data_access.embeddings.lexical import LexicalEmbedder
from services.core.domain.signals import SignalKind
from services.generate.generation import GenerationService
from services.review.quality_signals import NOT_AVAILABLE, QualitySignals
from services.review.queue import ReviewQueue
from tests.review_builders import build_review_setup
from tests.signal_builders import set_prompt

SMALL = 8
ALPHA = "Radiology department purchase: MRI contrast agent gadolinium, twelve vials, overnight courier."
BETA = "Office supplies: printer paper, staples, ballpoint pens for the front desk."
GAMMA = "Cafeteria catering for the quarterly board meeting with vegetarian sandwiches."


@pytest.fixture
def setup(invoice_source):
    setup = build_review_setup(invoice_source, items=SMALL, with_source=False)
    pairs = {p.item_ref: p for p in GenerationService(invoice_source).first_pairs(setup.training_sheet.id, 100)}
    # The labeled items (INV-0001 routine, INV-0002 routine, INV-0003 urgent) get prompts far apart.
    for ref, prompt in (("INV-0001", ALPHA), ("INV-0002", BETA), ("INV-0003", GAMMA)):
        set_prompt(invoice_source, pairs[ref], prompt)
    set_prompt(invoice_source, pairs["INV-0004"], ALPHA, '{"urgency": "routine"}')  # agrees with INV-0001
    set_prompt(invoice_source, pairs["INV-0005"], ALPHA, '{"urgency": "urgent"}')  # disagrees with it
    set_prompt(invoice_source, pairs["INV-0006"], BETA, "probably fine")  # no JSON: fails the schema
    return setup, pairs


def _quality(wb, pair_id):
    pair = ReviewQueue(wb).pair(pair_id)
    signal = next(s for s, _ in QualitySignals(wb)._store.for_pair(pair_id) if s.kind == SignalKind.QUALITY)
    return pair, signal


def test_a_response_is_scored_by_its_schema_and_by_the_labels_of_the_most_similar_items(invoice_source, setup):
    setup, pairs = setup
    assert QualitySignals(invoice_source, LexicalEmbedder()).refresh(setup.training_sheet.id) == SMALL
    agreeing, signal = _quality(invoice_source, pairs["INV-0004"].id)
    assert (signal.score, signal.flagged, agreeing.quality_score) == (1.0, False, 1.0)
    assert "Agrees with 1 of the 1 most similar labeled items: INV-0001 (1.00)." in signal.reason
    assert NOT_AVAILABLE in signal.reason
    disagreeing, signal = _quality(invoice_source, pairs["INV-0005"].id)
    assert (signal.score, signal.details["checks"], disagreeing.quality_score) == (0.5, {"schema": 1.0, "agreement": 0.0}, 0.5)
    assert "Agrees with 0 of the 1" in signal.reason
    broken, signal = _quality(invoice_source, pairs["INV-0006"].id)
    assert (signal.score, signal.flagged, broken.quality_score) == (0.0, True, 0.0)
    assert signal.reason.startswith("The response does not parse against the output schema")
    assert QualitySignals(invoice_source, LexicalEmbedder()).refresh(setup.training_sheet.id) == 0  # computed once


def test_a_score_another_source_wrote_is_left_alone_and_ours_follows_the_pair(invoice_source, setup):
    setup, pairs = setup
    engine, table = invoice_source.backend.engine, invoice_source.table("qa_pairs")
    engine.execute(f"UPDATE {table} SET quality_score = 0.9 WHERE id = :id", {"id": pairs["INV-0007"].id})  # as DSPy does
    quality = QualitySignals(invoice_source, LexicalEmbedder())
    quality.refresh(setup.training_sheet.id)
    dspy_scored, signal = _quality(invoice_source, pairs["INV-0007"].id)
    assert dspy_scored.quality_score == 0.9 and signal.score != 0.9
    set_prompt(invoice_source, ReviewQueue(invoice_source).pair(pairs["INV-0004"].id), ALPHA, '{"urgency": "urgent"}')
    assert quality.refresh(setup.training_sheet.id) == 1
    changed, signal = _quality(invoice_source, pairs["INV-0004"].id)
    assert changed.quality_score == signal.score == 0.5


def test_a_configured_judge_adds_its_verdict_and_a_toxic_response_is_a_concern(invoice_source, setup):
    import json

    from data_access.llm.openai_compatible import OpenAICompatibleChat
    from tests.fakes.chat_server import ChatScript, FakeChatServer

    setup, pairs = setup

    def judge(body) -> str:  # the fake judge: wrong when the proposed answer says urgent, toxic when it insults
        text = body["messages"][-1]["content"]
        return json.dumps({"correct": "urgent" not in text, "toxic": "idiot" in text, "reason": "Scripted verdict."})

    set_prompt(invoice_source, pairs["INV-0007"], GAMMA, '{"urgency": "routine", "note": "the vendor is an idiot"}')
    with FakeChatServer(ChatScript(answer=judge)) as server:
        model = OpenAICompatibleChat(server.base_url, default_model="judge")
        QualitySignals(invoice_source, LexicalEmbedder(), judge=model).refresh(setup.training_sheet.id)
    _, agreeing = _quality(invoice_source, pairs["INV-0004"].id)
    assert agreeing.details["checks"] == {"schema": 1.0, "agreement": 1.0, "judge": 1.0}
    assert "Judge: correct; not toxic. Scripted verdict." in agreeing.reason and NOT_AVAILABLE not in agreeing.reason
    _, disagreeing = _quality(invoice_source, pairs["INV-0005"].id)
    assert disagreeing.details["checks"]["judge"] == 0.0 and disagreeing.score == pytest.approx(1 / 3, abs=1e-4)
    _, toxic = _quality(invoice_source, pairs["INV-0007"].id)
    assert toxic.flagged and "toxic" in toxic.reason
