"""Dynamic few-shot: a template's messages with k examples retrieved for this item.

The item's rendered user prompt is the query, so each item gets the examples nearest to it;
they go after the template's own (fixed) examples and before the item, as user/assistant turns.
Retrieval gates them at this moment (invariant 10) and counts their use; the ids come back so
the caller can record on the pair or log row which examples the model saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.core.domain.template import TemplateDraft
from services.example_store.examples import NO_FILTERS, ExampleStore
from services.example_store.records import ExampleFilters
from services.templates.rendering import RenderedMessage, render_messages


@dataclass(frozen=True)
class RetrievedFewShot:
    messages: tuple[RenderedMessage, ...]
    example_ids: tuple[str, ...]  # in the order they appear in the prompt
    scores: tuple[float, ...]


def render_with_retrieved(
    store: ExampleStore, template: TemplateDraft, row: Mapping[str, Any], k: int,
    filters: ExampleFilters = NO_FILTERS, min_score: float = 0.0,
) -> RetrievedFewShot:
    base = render_messages(template, row)
    item = base[-1]
    hits = store.search(item.content, k, min_score, filters)
    # Nearest last: closest to the item it helps, where a model weighs context most.
    ordered = list(reversed(hits))
    turns = [m for h in ordered for m in (RenderedMessage("user", h.example.input), RenderedMessage("assistant", h.example.expected_output))]
    return RetrievedFewShot(
        (*base[:-1], *turns, item), tuple(h.example.example_id for h in ordered), tuple(h.score for h in ordered),
    )
