"""Delivering a JSON payload to a webhook URL: one POST per attempt, a timeout on each, and
retries with a doubling pause when the receiver is unreachable, slow, or answers 429 or 5xx.
Any other answer is final (a 4xx will not change by asking again). A sender never raises for
the receiver's failure: it returns what happened, so the caller can record it and go on."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TIMEOUT_S = 5.0  # a receiver that takes longer is treated as down; alert evaluation waits for it
ATTEMPTS = 3  # a brief outage of the receiver is ridden out; a long one is recorded as failed
BACKOFF_S = 0.5  # pauses of 0.5 s then 1 s: the three attempts fit in under 20 s at worst
ERROR_TEXT_LIMIT = 500  # an HTML error page is cut to what a person reads in a table cell


class WebhookUrlError(ValueError):
    """A URL no webhook can be sent to."""


def check_webhook_url(url: str) -> str:
    """The URL, stripped, when it is an absolute http(s) URL with a host; WebhookUrlError otherwise."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlError("A webhook URL starts with http:// or https:// and names a host.")
    return url


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    attempts: int
    http_status: int | None
    error: str | None


class WebhookSender(ABC):
    @abstractmethod
    def send(self, url: str, payload: dict[str, Any]) -> DeliveryResult:
        """POST `payload` as JSON to `url`; what happened, never an exception for the receiver's failure."""


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class HttpWebhookSender(WebhookSender):
    def __init__(self, timeout_s: float = TIMEOUT_S, attempts: int = ATTEMPTS, backoff_s: float = BACKOFF_S,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._sleep = sleep

    def send(self, url: str, payload: dict[str, Any]) -> DeliveryResult:
        try:
            url = check_webhook_url(url)
        except WebhookUrlError as error:
            return DeliveryResult(False, 0, None, str(error))
        body = json.dumps(payload, default=str).encode()
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self._attempts + 1):
            status, error = self._post(url, body)
            if error is None:
                return DeliveryResult(True, attempt, status, None)
            if status is not None and not _retryable(status):
                return DeliveryResult(False, attempt, status, error)
            if attempt < self._attempts:
                self._sleep(self._backoff_s * 2 ** (attempt - 1))
        return DeliveryResult(False, self._attempts, status, error)

    def _post(self, url: str, body: bytes) -> tuple[int | None, str | None]:
        """The receiver's HTTP status and, when it was not a 2xx, why."""
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "vital-workbench-alerts"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as answer:
                return answer.status, None
        except urllib.error.HTTPError as failed:
            detail = failed.read(ERROR_TEXT_LIMIT).decode(errors="replace").strip()
            return failed.code, f"HTTP {failed.code}" + (f": {detail}" if detail else "")
        except (urllib.error.URLError, TimeoutError, OSError) as failed:
            reason = getattr(failed, "reason", failed)
            return None, f"Could not reach the receiver: {reason}"[:ERROR_TEXT_LIMIT]
