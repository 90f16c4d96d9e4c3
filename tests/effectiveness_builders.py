"""Three Example Store examples whose effect on a scripted model is known: one helps, one hurts,
one does nothing (for the effectiveness measurement's tests)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft
from tests.fakes.chat_server import message_text

HELPS = "Invoice INV-9001 from City Medical Center."
HURTS = "Invoice INV-9002 from Lakeside Clinic."  # labelled hospital: a wrong answer taught
NEUTRAL = "Invoice INV-9003 from Riverside Imaging."


def ablation_answer(body: Mapping[str, Any]) -> str:
    """Right only after seeing HELPS; HURTS beside it spoils the clinics (it says a clinic is a hospital)."""
    users = [message_text(m) for m in body["messages"] if m["role"] == "user"]
    shown, item = users[:-1], users[-1]
    hospital = "Medical" in item
    right = HELPS in shown and (HURTS not in shown or hospital)
    return json.dumps({"kind": ("hospital" if hospital else "clinic") if right else "unknown"})


def add_ablation_examples(store: ExampleStore) -> dict[str, str]:
    """The three examples, as the provider template's task (its label type); text → example id."""
    answers = {HELPS: '{"kind": "hospital"}', HURTS: '{"kind": "hospital"}', NEUTRAL: '{"kind": "clinic"}'}
    return {text: store.add(ExampleDraft(text, answer, function_name="classification")).example_id for text, answer in answers.items()}
