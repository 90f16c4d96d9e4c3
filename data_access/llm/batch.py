"""Many chat requests against one model: bounded concurrency, retries with backoff, cancellation.

A failure belongs to its item: a refusal, exhausted retries or even an unexpected exception
comes back as a ChatResult with `error` set, and the run goes on.

Results are yielded as they finish (not in request order; match them by `request_id`), in the
consumer's thread, which is also where `on_result` runs, so it may write to the store.

Cancelling (`should_stop` returns True): nothing new is started; requests queued but not yet
started are dropped and not yielded; attempts already on the wire finish and are yielded, and
none of them is retried (a retry would be new work), so a stop takes effect within one call.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from data_access.llm.chat import MAX_CONCURRENCY, ChatModel, ChatRequest, ChatResult, ModelError, RetryableModelError

# Pay-per-token Foundation Model endpoints and a local Ollama both throttle or queue beyond a
# handful of parallel calls, and the laptop has two cores: eight keeps a remote endpoint busy
# without tripping its rate limit on the first burst.
DEFAULT_CONCURRENCY = 8
# Per attempt. Long enough for a model to write ~2k tokens; a hung server fails its attempt.
DEFAULT_TIMEOUT_S = 120.0
# One try and four retries: with the backoff below they span about a minute of throttling,
# the usual length of a rate-limit window, before an item is given up.
DEFAULT_MAX_ATTEMPTS = 5
# The first retry waits up to 1 s, doubling per attempt (full jitter), never more than 30 s.
DEFAULT_BACKOFF_BASE_S = 1.0
DEFAULT_BACKOFF_CAP_S = 30.0
# A server's Retry-After is honoured up to this; beyond it a confused server would park the job.
MAX_RETRY_AFTER_S = 120.0
# How often a waiting runner asks `should_stop`: a stop is seen within a tenth of a second, at
# a cost of ten cheap calls a second.
STOP_POLL_S = 0.1
# Requests queued per worker beyond the one it is running, so a worker that finishes picks
# up the next request at once instead of waiting for the consumer; keeps memory bounded.
QUEUED_PER_WORKER = 1
# Backoff doubles per attempt; past this exponent the cap applies anyway (and 2**n stays small).
_MAX_BACKOFF_EXPONENT = 30


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S
    backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive.")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1.")
        if self.backoff_base_s < 0 or self.backoff_cap_s < self.backoff_base_s:
            raise ValueError("Backoff needs 0 <= backoff_base_s <= backoff_cap_s.")

    def delay_s(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        """The wait before retrying after failed attempt number `attempt` (1-based).

        Full jitter (uniform between 0 and the exponential ceiling) spreads the retries of many
        throttled workers instead of sending them back together; a Retry-After is a floor.
        """
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2 ** min(attempt - 1, _MAX_BACKOFF_EXPONENT))
        delay = rng.uniform(0.0, ceiling)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
        return delay


def run_batch(
    model: ChatModel,
    requests: Iterable[ChatRequest],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S,
    backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S,
    on_result: Callable[[ChatResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] | None = None,
    rng: random.Random | None = None,
) -> Iterator[ChatResult]:
    """Run `requests` on `model`, at most `concurrency` at a time, yielding each result as it ends.

    `requests` is read lazily, so it may be a generator over a large table. Nothing runs until
    the iterator is consumed. `sleep` replaces the wait between retries (tests); by default the
    wait is cut short by a stop.
    """
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be between 1 and {MAX_CONCURRENCY}; got {concurrency}.")
    policy = RetryPolicy(timeout_s, max_attempts, backoff_base_s, backoff_cap_s)
    stopped = threading.Event()
    attempt_runner = _Attempts(model, policy, stopped, sleep or stopped.wait, rng or random.Random())
    return _results(attempt_runner, iter(requests), concurrency, on_result, should_stop, stopped)


def complete_with_retries(
    model: ChatModel,
    request: ChatRequest,
    policy: RetryPolicy | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> ChatResult:
    """One request with the batch runner's retries, for single calls made while a person waits."""
    return _Attempts(model, policy or RetryPolicy(), threading.Event(), sleep, rng or random.Random()).run(request)


def _results(
    attempts: _Attempts,
    pending_requests: Iterator[ChatRequest],
    concurrency: int,
    on_result: Callable[[ChatResult], None] | None,
    should_stop: Callable[[], bool] | None,
    stopped: threading.Event,
) -> Iterator[ChatResult]:
    window = concurrency * (1 + QUEUED_PER_WORKER)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="chat-batch")
    in_flight: set[Future[ChatResult]] = set()
    exhausted = False
    try:
        while True:
            if not stopped.is_set() and should_stop is not None and should_stop():
                stopped.set()
                for future in in_flight:
                    future.cancel()  # only those not yet started are cancelled
            while not stopped.is_set() and not exhausted and len(in_flight) < window:
                request = next(pending_requests, None)
                if request is None:
                    exhausted = True
                else:
                    in_flight.add(pool.submit(attempts.run, request))
            if not in_flight:
                return
            done, in_flight = wait(in_flight, timeout=STOP_POLL_S if should_stop else None, return_when=FIRST_COMPLETED)
            for future in done:
                if future.cancelled():
                    continue
                result = future.result()
                if on_result is not None:
                    on_result(result)
                yield result
    finally:
        # Reached on completion, on a stop, and when the consumer abandons the iterator or
        # on_result raises: queued work is dropped and in-flight attempts are not retried;
        # their threads end with their current call instead of holding the consumer up.
        stopped.set()
        pool.shutdown(wait=False, cancel_futures=True)


class _Attempts:
    """Runs one request to a final result: retries what is retryable, records what is not."""

    def __init__(
        self,
        model: ChatModel,
        policy: RetryPolicy,
        stopped: threading.Event,
        sleep: Callable[[float], object],
        rng: random.Random,
    ) -> None:
        self._model = model
        self._policy = policy
        self._stopped = stopped
        self._sleep = sleep
        self._rng = rng

    def run(self, request: ChatRequest) -> ChatResult:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                result = self._model.complete(request, timeout_s=self._policy.timeout_s)
                return replace(result, attempts=attempt)
            except RetryableModelError as error:
                latency_ms = _since(started)
                if attempt >= self._policy.max_attempts:
                    return self._failed(request, f"{error} (gave up after {attempt} attempts)", latency_ms, attempt)
                if self._stopped.is_set():
                    return self._failed(request, f"{error} (not retried: the run was stopped)", latency_ms, attempt)
                self._sleep(self._policy.delay_s(attempt, error.retry_after_s, self._rng))
                if self._stopped.is_set():
                    return self._failed(request, f"{error} (not retried: the run was stopped)", latency_ms, attempt)
            except ModelError as error:
                return self._failed(request, str(error), _since(started), attempt)
            except Exception as error:  # a bug or an unmapped library error must fail only its own item
                return self._failed(request, f"Unexpected {type(error).__name__}: {error}", _since(started), attempt)

    def _failed(self, request: ChatRequest, message: str, latency_ms: float, attempt: int) -> ChatResult:
        return ChatResult(
            request_id=request.request_id,
            text=None,
            error=message or "The model failed without a message.",
            prompt_tokens=None,
            completion_tokens=None,
            latency_ms=latency_ms,
            attempts=attempt,
            model=request.model or self._model.name,
        )


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
