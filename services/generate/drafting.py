"""Drafting responses for items that have no canonical label yet (labeling mode ai_generated).

Two drafters, chosen by configuration (services/generate/drafter_choice.py):
- ModelDrafter: a chat model (Databricks Model Serving, or any OpenAI-compatible server),
  called with bounded concurrency and retries; images travel as content parts. An item whose
  file cannot be sent (damaged, encrypted, too large) is not sent at all: its draft says why.
- NearestLabelDrafter (services/generate/offline_drafter.py): the offline drafter. It proposes,
  for an item, the label its nearest already-labeled items of the same label type carry, with a
  confidence measured against the experts' labels. It is not a model and says so.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from data_access.llm.batch import run_batch
from data_access.llm.chat import ChatMessage, ChatModel, ChatRequest, ImagePart, TextPart
from services.core.domain.template import TemplateDraft
from services.data.source_previews import PreviewError
from services.generate.draft_calibration import DraftCalibration
from services.templates.rendering import RenderedMessage

MAX_IMAGE_BYTES_FOR_MODEL = 3 * 1024 * 1024  # Model Serving refuses requests over 4 MB


@dataclass(frozen=True)
class DraftRequest:
    item_ref: str
    messages: tuple[RenderedMessage, ...]
    image_paths: tuple[str, ...] = ()
    pdf_paths: tuple[str, ...] = ()  # sent as page images when the run attaches PDF pages
    fields: Mapping[str, Any] = field(default_factory=dict)  # the item's columns (the offline drafter compares them)

    @property
    def prompt_text(self) -> str:
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")


@dataclass(frozen=True)
class Draft:
    item_ref: str
    text: str | None
    error: str | None = None
    confidence: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None


class Drafter(ABC):
    name: str = "drafter"

    @abstractmethod
    def describe(self) -> str:
        """One sentence for the UI: what proposes the responses, and what its confidence means."""

    @property
    def calibration(self) -> DraftCalibration | None:
        """How often its drafts agreed with the experts' labels of the sheet; None when not measured."""
        return None

    @abstractmethod
    def draft(self, requests: list[DraftRequest], should_stop: Callable[[], bool] | None = None) -> Iterator[Draft]:
        """One Draft per request (in any order); a failure is a Draft with `error`, never an exception."""


def confidence_from_output(text: str | None) -> float | None:
    """A model's own confidence, when its JSON output carries one between 0 and 1."""
    try:
        value = json.loads(text or "")
    except (json.JSONDecodeError, TypeError):
        return None
    score = value.get("confidence") if isinstance(value, dict) else None
    return float(score) if isinstance(score, int | float) and 0 <= score <= 1 else None


class ModelDrafter(Drafter):
    def __init__(
        self,
        model: ChatModel,
        template: TemplateDraft,
        image: Callable[[str], ImagePart],
        concurrency: int = 8,
        pdf_pages: Callable[[str], list[bytes]] | None = None,
    ) -> None:
        self._model = model
        self._template = template
        self._image = image  # an image file as a model takes it; PreviewError when it cannot be sent
        self._concurrency = concurrency
        self._pdf_pages = pdf_pages  # renders a PDF's first pages as PNG, for vision models (or PreviewError)
        self.name = model.name

    def describe(self) -> str:
        return (
            f"{self._model.describe()} drafts each response; its confidence is the model's own, where it gives one, "
            "not measured against the experts' labels."
        )

    def _images(self, paths: Iterable[str]) -> tuple[ImagePart, ...]:
        return tuple(map(self._image, paths))

    def _page_images(self, paths: Iterable[str]) -> tuple[ImagePart, ...]:
        if self._pdf_pages is None:
            return ()
        return tuple(ImagePart(png, "image/png") for path in paths for png in self._pdf_pages(path))

    def _request(self, request: DraftRequest) -> ChatRequest:
        images = self._images(request.image_paths) + self._page_images(request.pdf_paths)
        messages = []
        for index, message in enumerate(request.messages):
            is_item_prompt = index == len(request.messages) - 1 and images
            content = (TextPart(message.content), *images) if is_item_prompt else message.content
            messages.append(ChatMessage(message.role, content))
        return ChatRequest(
            tuple(messages), self._template.base_model, self._template.temperature, self._template.max_tokens, request.item_ref
        )

    def draft(self, requests: list[DraftRequest], should_stop: Callable[[], bool] | None = None) -> Iterator[Draft]:
        not_sent: deque[Draft] = deque()  # filled as run_batch reads the requests, in this thread

        def chat_requests() -> Iterator[ChatRequest]:
            for request in requests:
                try:
                    yield self._request(request)
                except PreviewError as error:
                    not_sent.append(Draft(request.item_ref, None, f"Not sent to the model: {error}"))

        for result in run_batch(self._model, chat_requests(), concurrency=self._concurrency, should_stop=should_stop):
            while not_sent:
                yield not_sent.popleft()
            yield Draft(
                result.request_id, result.text, result.error, confidence_from_output(result.text),
                result.prompt_tokens, result.completion_tokens, result.latency_ms,
            )
        yield from not_sent
