"""Dynamic few-shot: a template's messages with k examples retrieved for this item.

The item's rendered user prompt is the query, so each item gets the examples nearest to it;
they go after the template's own (fixed) examples and before the item, as user/assistant turns.
Retrieval gates them at this moment (invariant 10) and counts their use; the ids come back so
the caller can record on the pair or log row which examples the model saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.core.domain.template import TemplateDraft
from services.core.workbench import Workbench
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
    return with_retrieved(store, render_messages(template, row), k, filters, min_score)


def with_retrieved(
    store: ExampleStore, base: Sequence[RenderedMessage], k: int, filters: ExampleFilters = NO_FILTERS, min_score: float = 0.0,
) -> RetrievedFewShot:
    """`base` (ending with the item's own prompt) with k retrieved examples put before the item."""
    item = base[-1]
    hits = store.search(item.content, k, min_score, filters)
    # Nearest last: closest to the item it helps, where a model weighs context most.
    ordered = list(reversed(hits))
    turns = [m for h in ordered for m in (RenderedMessage("user", h.example.input), RenderedMessage("assistant", h.example.expected_output))]
    return RetrievedFewShot(
        (*base[:-1], *turns, item), tuple(h.example.example_id for h in ordered), tuple(h.score for h in ordered),
    )


def template_filters(template: TemplateDraft) -> ExampleFilters:
    """A template retrieves examples of its own task: those whose function name is its label type
    (what a sync from its Training Sheets gives them)."""
    return ExampleFilters(function_names=(template.label_type,))


class TemplateFewShot:
    """Renders a template's messages for items, with its retrieved examples when it asks for them."""

    def __init__(self, store: ExampleStore | None, template: TemplateDraft) -> None:
        self._store = store
        self._template = template

    @classmethod
    def for_template(cls, wb: Workbench, template: TemplateDraft) -> TemplateFewShot:
        """Opens the Example Store (its embedder and index) only for a template that retrieves."""
        return cls(ExampleStore(wb) if template.retrieved_examples_k else None, template)

    def render(self, row: Mapping[str, Any]) -> tuple[tuple[RenderedMessage, ...], tuple[str, ...]]:
        return self.complete(render_messages(self._template, row))

    def complete(self, base: Sequence[RenderedMessage]) -> tuple[tuple[RenderedMessage, ...], tuple[str, ...]]:
        """Already-rendered messages with the retrieved examples added, and their ids."""
        if self._store is None or not self._template.retrieved_examples_k:
            return tuple(base), ()
        found = with_retrieved(self._store, base, self._template.retrieved_examples_k, template_filters(self._template))
        return found.messages, found.example_ids
