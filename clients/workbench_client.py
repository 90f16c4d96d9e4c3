"""A small client of the workbench API for agents: standard library only, so it can be copied.

    client = WorkbenchClient("http://127.0.0.1:8501")
    for example in client.search_examples("dose rate near a drum", k=3, domain="radiation"):
        print(example.score, example.input, example.expected_output)
    client.send_feedback("down", request_id="<the answer's request id>", correction='{"urgency": "urgent"}')

On a Databricks App, pass `token=` (a workspace token of the caller); the App's proxy signs the
caller in. Errors the API answers come back as WorkbenchApiError with its status and code.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Retrieval answers in milliseconds; the first call of a fresh server loads the embedding model.
DEFAULT_TIMEOUT_S = 30.0


class WorkbenchApiError(RuntimeError):
    """The API refused (status and code from its `{"error": {"code", "message"}}` body), or
    could not be reached (status 0)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FoundExample:
    example_id: str
    score: float  # cosine similarity to the query, higher is closer
    input: str
    expected_output: str
    explanation: str
    search_keys: tuple[str, ...]
    function_name: str | None
    domain: str | None
    quality_score: float | None
    effectiveness_score: float | None


@dataclass(frozen=True)
class SentFeedback:
    feedback_id: str
    inference_log_id: str  # the logged answer it judges
    endpoint_name: str
    model_name: str | None
    model_version: str | None
    kind: str  # rating | correction
    correction: str | None  # as stored: the output schema's JSON when the model has one
    status: str


class WorkbenchClient:
    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout_s

    def search_examples(
        self, query: str, k: int = 5, min_score: float = 0.0, function_names: Sequence[str] = (),
        domain: str | None = None, min_quality: float | None = None, min_effectiveness: float | None = None,
    ) -> list[FoundExample]:
        """The k governed examples nearest `query` in meaning, best first."""
        filters = {"function_names": list(function_names), "domain": domain, "min_quality": min_quality,
                   "min_effectiveness": min_effectiveness}
        body = {"query": query, "k": k, "min_score": min_score, "filters": {n: v for n, v in filters.items() if v not in (None, [])}}
        results = self._post("/api/v1/examples/search", body)["results"]
        return [_found(r) for r in results]

    def send_feedback(
        self, value: str, *, request_id: str | None = None, trace_id: str | None = None, correction: str | None = None,
        comment: str | None = None,
    ) -> SentFeedback:
        """Thumbs up or down (with the right answer as `correction`) on an answer an endpoint gave,
        named by its request id or trace id."""
        body = {"value": value, "request_id": request_id, "trace_id": trace_id, "correction": correction, "comment": comment}
        answer = self._post("/api/v1/feedback", {n: v for n, v in body.items() if v is not None})
        return SentFeedback(answer["feedback_id"], answer["inference_log_id"], answer["endpoint_name"], answer["model_name"],
                            answer["model_version"], answer["kind"], answer["correction"], answer["status"])

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(f"{self._base}{path}", json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, error.read()) from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise WorkbenchApiError(0, "UNREACHABLE", f"{self._base} did not answer: {error}") from None


def _api_error(status: int, body: bytes) -> WorkbenchApiError:
    try:
        error = json.loads(body)["error"]
        return WorkbenchApiError(status, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return WorkbenchApiError(status, "HTTP_ERROR", body[:200].decode("utf-8", "replace"))


def _found(row: dict[str, Any]) -> FoundExample:
    return FoundExample(
        row["example_id"], float(row["score"]), row["input"], row["expected_output"], row.get("explanation") or "",
        tuple(row.get("search_keys") or ()), row.get("function_name"), row.get("domain"), row.get("quality_score"),
        row.get("effectiveness_score"),
    )
