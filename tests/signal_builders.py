"""Pairs with known content, for the LABEL signals' tests."""

from __future__ import annotations

import json

from services.core.domain.qa_pair import QaPair
from services.core.workbench import Workbench


def set_prompt(wb: Workbench, pair: QaPair, prompt: str, response: str | None = None) -> None:
    """The pair's last user message (and, given, its response) replaced, as an edit would."""
    messages = [{"role": m.role, "content": m.content} for m in pair.messages]
    user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    messages[user]["content"] = prompt
    if response is not None and messages[-1]["role"] == "assistant":
        messages[-1]["content"] = response
    wb.backend.engine.execute(
        f"UPDATE {wb.table('qa_pairs')} SET messages = :messages, row_version = row_version + 1 WHERE id = :id",
        {"id": pair.id, "messages": json.dumps(messages)},
    )


def label_signals_sql_flow(workbench: Workbench) -> None:
    """Every statement the LABEL signals issue on the embedded store: refresh (PII, embeddings,
    duplicates), the card's reads, the queue filtered on a signal, resolving a group, tightening."""
    from data_access.embeddings.lexical import LexicalEmbedder
    from data_access.schema.migrate import migrate
    from services.core.domain.review import QueueFilter
    from services.generate.generation import GenerationService
    from services.review.queue import ReviewQueue
    from services.review.signals import PairSignals
    from tests.review_builders import build_review_setup

    migrate(workbench.backend.engine, workbench.settings)
    setup = build_review_setup(workbench, items=6)
    ts = setup.training_sheet.id
    pairs = GenerationService(workbench).first_pairs(ts, 10)
    for pair in pairs[3:5]:
        set_prompt(workbench, pair, "Patient: John Smith, NPI 1234567893")
    signals = PairSignals(workbench, LexicalEmbedder())
    signals.refresh_if_small(ts)
    ReviewQueue(workbench).page(ts, QueueFilter(signal="duplicate"))
    signals.flagged_counts(ts)
    pair = ReviewQueue(workbench).pair(pairs[3].id)
    found = {s.kind: s for s in signals.for_pair(pair)}
    signals.tighten_for_pii(pair, pair.row_version)
    signals.resolve_duplicates(ts, found["duplicate"].group_id or "", pair.id)
