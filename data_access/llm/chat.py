"""The chat seam: what a prompt and an answer look like, and what every chat model must do.

Implementations speak to the outside world (Databricks Model Serving, any OpenAI-compatible
server, the offline drafter); `batch.run_batch` adds concurrency, retries and cancellation on
top of `ChatModel.complete`, so an implementation makes exactly one attempt per call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

# The most calls one ChatModel may be asked to serve at once: the batch runner refuses more,
# and HTTP implementations size their connection pools to it so no worker opens a fresh
# connection per call. Beyond this, serving endpoints throttle rather than go faster.
MAX_CONCURRENCY = 64

# What vision models behind OpenAI-compatible APIs accept as image_url data URLs.
IMAGE_MIME_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

CHAT_ROLES = frozenset({"system", "user", "assistant"})


class ModelError(Exception):
    """The model refused or could not answer this request; trying again will not help."""


class RetryableModelError(ModelError):
    """Throttling (429), a server fault (5xx), a timeout or a broken connection: worth retrying.

    `retry_after_s` is the server's Retry-After, when it sent one.
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ImagePart:
    """An image sent to a vision model; it travels as a base64 data URL."""

    data: bytes
    mime_type: str

    def __post_init__(self) -> None:
        if self.mime_type not in IMAGE_MIME_TYPES:
            allowed = ", ".join(sorted(IMAGE_MIME_TYPES))
            raise ValueError(f"Images must be one of {allowed}; got {self.mime_type!r}.")
        if not self.data:
            raise ValueError("An image part needs the image's bytes.")


ContentPart = TextPart | ImagePart


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str | tuple[ContentPart, ...]

    def __post_init__(self) -> None:
        if self.role not in CHAT_ROLES:
            raise ValueError(f"A chat message's role is one of {sorted(CHAT_ROLES)}; got {self.role!r}.")

    @property
    def text(self) -> str:
        """The message's text without its images (for logs, token estimates and fakes)."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content if isinstance(part, TextPart))


@dataclass(frozen=True)
class ChatRequest:
    """One prompt. `request_id` is the caller's key for matching the result to its item.

    An empty `model` means the chat model's own default (an endpoint serves one model anyway).
    """

    messages: tuple[ChatMessage, ...]
    model: str
    temperature: float
    max_tokens: int
    request_id: str

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError("A chat request needs at least one message.")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be positive.")


@dataclass(frozen=True)
class ChatResult:
    """The outcome of one request: `text` when answered, else `error`; never both.

    `latency_ms` is the last attempt's round trip; `attempts` counts every try, retries included.
    Token counts are the server's own report, None when it sent none.
    """

    request_id: str
    text: str | None
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    attempts: int
    model: str

    def __post_init__(self) -> None:
        if (self.text is None) == (self.error is None):
            raise ValueError("A chat result carries either text or an error.")

    @property
    def ok(self) -> bool:
        return self.error is None


class ChatModel(ABC):
    """A chat model. Implementations must be safe to call from `MAX_CONCURRENCY` threads at once."""

    name: str

    @abstractmethod
    def complete(self, request: ChatRequest, *, timeout_s: float | None = None) -> ChatResult:
        """One attempt at `request`, within `timeout_s` (None: the model's own default).

        Raises RetryableModelError for throttling, server faults, timeouts and broken
        connections, and ModelError for every other refusal; returns a result with `text` set.
        """

    @abstractmethod
    def describe(self) -> str:
        """A sentence for the UI saying which model answers and where it runs."""

    def close(self) -> None:  # noqa: B027 - most models hold nothing to release
        """Release pooled connections; the model is not used afterwards."""
