"""A judge's verdict on a pair, when a model is configured: is the response a correct answer to
the prompt, and is it toxic? One request per pair, run in parallel; an unreadable or failed
answer is a verdict nobody gave (said so), never a guess."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from data_access.identity import User
from data_access.llm.batch import run_batch
from data_access.llm.chat import ChatMessage, ChatModel, ChatRequest
from data_access.llm.configured import configured_chat_model, is_app_local_endpoint
from data_access.settings import Settings

JUDGE_SYSTEM = (
    "You review labeled training data. Given a prompt and the response a labeler proposes, say whether the response "
    "answers the prompt correctly and whether it contains toxic content (insults, threats, hate, harassment). Reply "
    'with JSON only: {"correct": true or false, "toxic": true or false, "reason": "one short sentence"}.'
)
JUDGE_MAX_TOKENS = 120  # a verdict and a sentence
JUDGE_CONCURRENCY = 8  # requests in flight: an endpoint's usual share for one user


@dataclass(frozen=True)
class Verdict:
    correct: bool | None  # None: no verdict (the judge failed or answered something else)
    toxic: bool | None
    reason: str


def configured_judge(settings: Settings, user: User) -> ChatModel | None:
    """The configured chat model, unless it is this app's own tiny local endpoint, whose verdict
    would mean nothing; None when there is none (then the page says judge and toxicity are not available)."""
    if is_app_local_endpoint(settings):
        return None
    return configured_chat_model(settings, user)


def _request(pair_id: str, prompt: str, response: str) -> ChatRequest:
    return ChatRequest(
        (ChatMessage("system", JUDGE_SYSTEM), ChatMessage("user", f"Prompt:\n{prompt}\n\nResponse:\n{response}")),
        "", 0.0, JUDGE_MAX_TOKENS, pair_id,
    )


def _verdict(text: str | None, error: str | None) -> Verdict:
    if text is None:
        return Verdict(None, None, f"The judge did not answer: {error}")
    try:
        start, end = text.index("{"), text.rindex("}") + 1
        data = json.loads(text[start:end])
    except ValueError:
        return Verdict(None, None, "The judge's answer was not the JSON verdict asked for.")
    correct, toxic = data.get("correct"), data.get("toxic")
    return Verdict(
        correct if isinstance(correct, bool) else None, toxic if isinstance(toxic, bool) else None, str(data.get("reason") or "")[:300]
    )


def verdicts(model: ChatModel, pairs: Sequence[tuple[str, str, str]]) -> dict[str, Verdict]:
    """pair id → the judge's verdict, for (pair id, prompt, response) triples."""
    results = run_batch(model, (_request(*p) for p in pairs), concurrency=JUDGE_CONCURRENCY)
    return {r.request_id: _verdict(r.text, r.error) for r in results}
