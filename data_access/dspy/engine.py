"""The language model DSPy optimizers call: the workbench's own chat model, through DSPy's engine seam.

DSPy 3.4 takes a custom engine (`complete(Request) -> Response`) in `dspy.LM(engine=...)`, so
every call goes through the same `ChatModel` the rest of the workbench uses: an OpenAI-compatible
server (Ollama, vLLM, or the app's own local endpoint through /api/v1/openai/v1), or a Databricks
serving endpoint with the user's credentials. Nothing reaches litellm's network code.

The engine also counts calls (progress) and refuses the next call once the run is cancelled:
the optimizers have no cancel hook, so a cancelled run ends at its next model call.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from data_access.llm.chat import ChatMessage, ChatModel, ChatRequest, ModelError, RetryableModelError

# litellm fetches its model price list from the internet at import unless told to use its own
# copy (about 10 s offline, and a request leaving the laptop): set before dspy imports it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DSPY_CACHEDIR", os.path.join(os.path.expanduser("~"), ".cache", "vital-workbench-dspy"))

MAX_ATTEMPTS = 3  # a throttled or flaky endpoint gets two more tries; a refusal gets none
_BACKOFF_S = 0.5  # doubled per retry unless the server says how long to wait
DEFAULT_MAX_TOKENS = 1024  # when DSPy does not ask for a limit


class RunCancelled(Exception):
    """Someone cancelled the optimization run; raised at the next model call."""


def cancelled_within(error: BaseException) -> bool:
    """DSPy wraps what an engine raises in its own errors: whether a cancel is underneath."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, RunCancelled):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def import_dspy() -> Any:
    """dspy, imported with litellm kept offline (see the module docstring)."""
    import dspy

    return dspy


class ChatModelEngine:
    """A DSPy engine over a `ChatModel`: one request in, one answer out, with bounded retries."""

    def __init__(self, model: ChatModel, max_in_flight: int, cancelled: Callable[[], bool] = lambda: False,
                 timeout_s: float | None = None) -> None:
        self._model = model
        self._cancelled = cancelled
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        # Scoring and optimizing run side by side, each with its own threads: together they
        # never have more calls in flight than the workbench allows one model.
        self._slots = threading.BoundedSemaphore(max(1, max_in_flight))
        self.calls = 0

    def complete(self, request: Any) -> Any:
        from dspy.lm15 import Message, Response, TextPart, Usage

        if self._cancelled():
            raise RunCancelled("The optimization run was cancelled.")
        chat = ChatRequest(
            messages=_messages(request), model="", request_id=str(uuid.uuid4()),
            temperature=request.config.temperature if request.config.temperature is not None else 0.0,
            max_tokens=request.config.max_tokens or DEFAULT_MAX_TOKENS,
        )
        with self._slots:
            result = self._answer(chat)
        with self._lock:
            self.calls += 1
        usage = Usage(input_tokens=result.prompt_tokens or 0, output_tokens=result.completion_tokens or 0,
                      total_tokens=(result.prompt_tokens or 0) + (result.completion_tokens or 0))
        return Response(id=chat.request_id, model=result.model or self._model.name, message=Message.assistant([TextPart(result.text or "")]),
                        finish_reason="stop", usage=usage)

    def _answer(self, chat: ChatRequest) -> Any:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._model.complete(chat, timeout_s=self._timeout_s)
            except RetryableModelError as error:
                if attempt == MAX_ATTEMPTS or self._cancelled():
                    raise ModelError(f"{self._model.describe()} did not answer after {attempt} tries: {error}") from error
                time.sleep(error.retry_after_s if error.retry_after_s is not None else _BACKOFF_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def __deepcopy__(self, memo: dict[int, Any]) -> ChatModelEngine:
        """Optimizers copy programs with their LM: every copy shares this engine (its model, its
        cancel check and its call count)."""
        return self

    def stream(self, request: Any) -> Any:
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        """The chat model's connections belong to the workbench, not to DSPy."""


def _messages(request: Any) -> tuple[ChatMessage, ...]:
    system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system or ())
    messages = [ChatMessage("system", system)] if system else []
    messages += [ChatMessage(m.role if m.role in ("user", "assistant") else "user", m.text or "") for m in request.messages]
    return tuple(messages)


def workbench_lm(engine: ChatModelEngine, model_name: str, temperature: float, max_tokens: int) -> Any:
    """A `dspy.LM` whose every call goes through `engine`; DSPy's cache is off so each call is real
    (a cached answer would make the scores of two runs look independent when they are not)."""
    dspy = import_dspy()
    return dspy.LM(f"workbench/{model_name}", engine=engine, cache=False, num_retries=0, temperature=temperature, max_tokens=max_tokens)
