"""A stand-in for a served model (the outside world behind data_access.serving's seam), for
tests that send thousands of requests: a real CPU model answers a few a second at best.

It answers every chat with the scripted text (or the text the script gives for the last user
message), counts tokens as words, and can be told to hold each answer for a while or to fail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from data_access.serving.served_model import ChatTurn, ModelAnswer, ServedModel, ServingError
from data_access.settings import Settings


@dataclass
class FakeServedModel(ServedModel):
    text: str = '{"urgency": "urgent"}'
    by_prompt: dict[str, str] = field(default_factory=dict)
    hold_s: float = 0.0
    fail_with: str | None = None
    answered: int = 0
    closed: bool = False
    asked: list[tuple[ChatTurn, ...]] = field(default_factory=list)  # the messages of each request, as the model got them
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, messages: Sequence[ChatTurn], max_tokens: int) -> ModelAnswer:
        if self.hold_s:
            time.sleep(self.hold_s)
        if self.fail_with:
            raise ServingError(self.fail_with)
        text = self.by_prompt.get(messages[-1].content, self.text)
        words = " ".join(text.split()[:max_tokens])
        with self._lock:
            self.answered += 1
            self.asked.append(tuple(messages))
        return ModelAnswer(words, sum(len(m.content.split()) for m in messages), len(words.split()))

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeModelLoader:
    """Loads a FakeServedModel for the registered (name, version) pairs it knows; others fail as the registry would."""

    models: dict[tuple[str, str], FakeServedModel] = field(default_factory=dict)
    loads: int = 0

    def __call__(self, settings: Settings, name: str, version: str) -> ServedModel:
        self.loads += 1
        found = self.models.get((name, version))
        if found is None:
            raise ServingError(f"RESOURCE_DOES_NOT_EXIST: registered model version {name}/{version} not found")
        return found
