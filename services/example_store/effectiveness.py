"""Effectiveness, measured by ablation: score a template's evaluation pairs with every example it
shows them, then with each example left out.

The one meaning of `effectiveness_score`, on both paths that write it: how much having the example
in the prompt raises an evaluation pair's score (per-field match with the approved answer, 0–1),
score with it minus score without it, so -1 to 1: above 0 it helps, below 0 it hurts, 0 it does
nothing. Here it is averaged over the evaluation pairs the example was shown for (a retrieved
example only reaches the items it is nearest to); a DSPy run gives its demos' examples the run's
lift (the optimized program's mean score minus the baseline's), the demos measured together.

This module plans the prompts and does the arithmetic; `effectiveness_job` asks the model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from services.core.domain.template import SchemaField, TemplateDraft
from services.example_store.records import Example
from services.templates.answer_match import field_match
from services.templates.output_parsing import parse_output
from services.templates.rendering import RenderedMessage, render_messages

ANSWER_FIELD = "answer"  # a template without an output schema is scored on its whole answer
# An effect within this of zero is no effect: a change of one field on one pair of a large set
# is noise, and pruning it would be a guess.
NEUTRAL_BAND = 0.0
FULL = ""  # the key of an item's prompt with every example in it


@dataclass(frozen=True)
class Shown:
    """One example in an item's prompt: an Example Store example (its id) or the template's
    fixed example number `fixed` (0-based)."""

    key: str
    label: str  # the example's input: its user turn, and what a person reads
    answer: str = ""  # its assistant turn (a fixed example's come from the template)
    example_id: str | None = None
    fixed: int | None = None


@dataclass(frozen=True)
class EvaluationItem:
    pair_id: str
    item_ref: str
    row: Mapping[str, Any]  # what the template renders the item from
    expected: Mapping[str, Any]  # the approved answer, field by field
    retrieved: tuple[Shown, ...] = ()  # the store's examples for this item, in prompt order


@dataclass(frozen=True)
class Prompt:
    item: int  # index into the items
    left_out: str  # the key of the example left out, FULL for none
    messages: tuple[RenderedMessage, ...]


@dataclass(frozen=True)
class ExampleEffect:
    key: str
    label: str
    example_id: str | None
    fixed: int | None
    effect: float  # mean over `pairs` of (score with it − score without it)
    pairs: int  # evaluation pairs it was shown for (and both prompts answered)
    helped: int  # pairs that scored higher with it
    hurt: int  # pairs that scored lower with it


@dataclass(frozen=True)
class Measurement:
    baseline: float  # mean score of the evaluation pairs with every example shown
    pairs: int
    effects: tuple[ExampleEffect, ...]  # worst first
    model_calls: int
    failed_calls: int


def expected_answer(answer: str, schema: Sequence[SchemaField]) -> dict[str, Any] | None:
    """The approved answer field by field; None when it does not parse against the schema."""
    if not schema:
        return {ANSWER_FIELD: answer.strip()} if answer.strip() else None
    parsed = parse_output(answer, schema)
    return dict(parsed.value) if parsed.value is not None and not parsed.errors else None


def item_score(text: str | None, expected: Mapping[str, Any], schema: Sequence[SchemaField]) -> float:
    """Per-field match of a model's answer; an answer that does not parse matches nothing."""
    if text is None:
        return 0.0
    if not schema:
        return field_match(expected, {ANSWER_FIELD: text.strip()})
    return field_match(expected, parse_output(text, schema).value or {})


def fixed_examples(template: TemplateDraft) -> tuple[Shown, ...]:
    return tuple(Shown(f"fixed:{n}", _label(e.input), e.output, fixed=n) for n, e in enumerate(template.examples))


def prompts(template: TemplateDraft, items: Sequence[EvaluationItem]) -> list[Prompt]:
    """Every item with all its examples, and once more without each of them."""
    planned: list[Prompt] = []
    fixed = fixed_examples(template)
    for n, item in enumerate(items):
        planned.append(Prompt(n, FULL, _messages(template, item, None)))
        planned.extend(Prompt(n, shown.key, _messages(template, item, shown)) for shown in (*fixed, *item.retrieved))
    return planned


def measured(template: TemplateDraft, items: Sequence[EvaluationItem], answers: Mapping[tuple[int, str], str | None]) -> Measurement:
    """The effects from the model's answers (`answers[(item, left_out)]`, None for a failed call).
    An item whose full prompt failed is left out; so is one ablation whose call failed."""
    schema = template.output_schema
    scores = {key: item_score(text, items[key[0]].expected, schema) for key, text in answers.items() if text is not None}
    full = {n: scores[(n, FULL)] for n in range(len(items)) if (n, FULL) in scores}
    deltas: dict[str, list[float]] = defaultdict(list)
    shown_by_key: dict[str, Shown] = {}
    for n, item in enumerate(items):
        for shown in (*fixed_examples(template), *item.retrieved):
            shown_by_key.setdefault(shown.key, shown)
            if n in full and (n, shown.key) in scores:
                deltas[shown.key].append(full[n] - scores[(n, shown.key)])
    effects = [
        ExampleEffect(key, shown.label, shown.example_id, shown.fixed, sum(d) / len(d), len(d),
                      sum(x > 0 for x in d), sum(x < 0 for x in d))
        for key, shown in shown_by_key.items() if (d := deltas.get(key))
    ]
    effects.sort(key=lambda e: (e.effect, e.key))
    failed = sum(text is None for text in answers.values())
    return Measurement(sum(full.values()) / len(full) if full else 0.0, len(full), tuple(effects), len(answers), failed)


def prune_suggestions(examples: Sequence[Example]) -> list[Example]:
    """Examples measured not to help (effectiveness ≤ 0): pruning them costs nothing measured."""
    return [e for e in examples if e.effectiveness_score is not None and e.effectiveness_score <= NEUTRAL_BAND]


def _messages(template: TemplateDraft, item: EvaluationItem, left_out: Shown | None) -> tuple[RenderedMessage, ...]:
    if left_out is not None and left_out.fixed is not None:
        template = replace(template, examples=tuple(e for n, e in enumerate(template.examples) if n != left_out.fixed))
    base = render_messages(template, item.row)
    kept = [s for s in item.retrieved if left_out is None or s.key != left_out.key]
    turns = [m for s in kept for m in (RenderedMessage("user", s.label), RenderedMessage("assistant", s.answer))]
    return (*base[:-1], *turns, base[-1])


def _label(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())
