"""The seam for a model an endpoint serves: chat messages in, one answer out.

The local implementation (local_model.py) loads a registered MLflow chat model into this
process; a test's stand-in for the outside world implements the same two methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


class ServingError(RuntimeError):
    """The model could not be loaded or could not answer; the message says why."""


@dataclass(frozen=True)
class ChatTurn:
    role: str  # system, user or assistant
    content: str


@dataclass(frozen=True)
class ModelAnswer:
    text: str
    prompt_tokens: int | None  # None where the model cannot count them
    completion_tokens: int | None


class ServedModel(ABC):
    """A loaded model. `answer` may be called from several threads; an implementation that
    cannot answer concurrently serialises inside."""

    @abstractmethod
    def answer(self, messages: Sequence[ChatTurn], max_tokens: int) -> ModelAnswer: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the model holds (memory, threads)."""
