"""Chat models and the batch runner, over real HTTP against a scripted loopback chat server."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator

import pytest

from data_access.llm.batch import RetryPolicy, complete_with_retries, run_batch
from data_access.llm.chat import (
    ChatMessage,
    ChatModel,
    ChatRequest,
    ChatResult,
    ImagePart,
    ModelError,
    TextPart,
)
from data_access.llm.chat_wire import parse_retry_after
from data_access.llm.databricks_serving import MAX_REQUEST_BYTES, DatabricksServingChat
from data_access.llm.openai_compatible import OpenAICompatibleChat
from tests.fakes.chat_server import (
    FAKE_WORKSPACE_ID,
    ChatScript,
    FakeChatServer,
    Outcome,
    expected_answer,
    malformed_answer,
)

# The smallest valid PNG: one transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    with FakeChatServer() as fake:
        yield fake


@pytest.fixture
def model(server: FakeChatServer) -> Iterator[OpenAICompatibleChat]:
    chat = OpenAICompatibleChat(server.base_url, api_key="sk-local", timeout_s=5.0, default_model="llama3.2")
    yield chat
    chat.close()


def ask(prompt: str, request_id: str | None = None, *, image: bytes | None = None) -> ChatRequest:
    content: str | tuple[TextPart | ImagePart, ...] = prompt
    if image is not None:
        content = (TextPart(prompt), ImagePart(image, "image/png"))
    return ChatRequest(
        messages=(ChatMessage("system", "Answer in JSON."), ChatMessage("user", content)),
        model="",
        temperature=0.0,
        max_tokens=256,
        request_id=request_id or prompt,
    )


class RecordedSleep:
    """Stands in for the clock between retries: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class HighestJitter(random.Random):
    """Full jitter that always lands on its ceiling, so the backoff schedule is visible."""

    def random(self) -> float:
        return 1.0


def test_an_answer_comes_back_with_its_token_usage_and_latency(server, model):
    result = model.complete(ask("Which valve leaks?"))

    assert result.ok
    assert result.text == expected_answer("Which valve leaks?")
    assert (result.prompt_tokens, result.completion_tokens) == (6, len(result.text.split()))
    assert result.latency_ms > 0
    assert result.attempts == 1
    assert result.model == "fake-chat-1"
    [received] = server.received
    assert received.path == "/v1/chat/completions"
    assert received.body["model"] == "llama3.2"
    assert received.headers["authorization"] == "Bearer sk-local"


def test_a_throttled_request_is_retried_after_growing_waits_that_honour_retry_after(server, model):
    server.use(ChatScript(forced={"busy": (Outcome.RATE_LIMITED,) * 3}, retry_after="1.5"))
    sleep = RecordedSleep()

    [result] = run_batch(model, [ask("busy")], backoff_base_s=1.0, backoff_cap_s=30.0, sleep=sleep, rng=HighestJitter())

    assert result.ok and result.text == expected_answer("busy")
    assert result.attempts == 4
    # Retry-After (1.5 s) is the floor of the first wait; backoff then doubles past it.
    assert sleep.waits == [1.5, 2.0, 4.0]


def test_full_jitter_keeps_every_wait_under_its_doubling_ceiling():
    policy = RetryPolicy(backoff_base_s=1.0, backoff_cap_s=8.0)
    rng = random.Random(7)

    waits = [policy.delay_s(attempt, None, rng) for attempt in (1, 2, 3, 4, 5, 6) for _ in range(50)]

    ceilings = [min(8.0, 2.0 ** (attempt - 1)) for attempt in (1, 2, 3, 4, 5, 6) for _ in range(50)]
    assert all(0.0 <= wait <= ceiling for wait, ceiling in zip(waits, ceilings, strict=True))
    assert len(set(waits)) == len(waits)  # jittered, not a fixed schedule


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # already past
    assert parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT") > 365 * 24 * 3600
    assert parse_retry_after("soon") is None


def test_a_request_that_keeps_failing_with_500_is_recorded_as_failed_and_the_batch_goes_on(server, model):
    server.use(ChatScript(forced={"doomed": (Outcome.SERVER_ERROR,) * 10}))
    requests = [ask("first"), ask("doomed"), ask("last")]

    results = {
        result.request_id: result for result in run_batch(model, requests, max_attempts=3, sleep=RecordedSleep())
    }

    assert set(results) == {"first", "doomed", "last"}
    assert results["first"].ok and results["last"].ok
    doomed = results["doomed"]
    assert doomed.text is None
    assert "HTTP 500" in doomed.error and "gave up after 3 attempts" in doomed.error
    assert doomed.attempts == 3
    assert len([r for r in server.received if r.body["messages"][-1]["content"] == "doomed"]) == 3


def test_a_request_that_times_out_is_retried(server, model):
    server.use(ChatScript(forced={"slow": (Outcome.TOO_SLOW,)}))

    [result] = run_batch(model, [ask("slow")], timeout_s=0.5, sleep=RecordedSleep())

    assert result.ok and result.text == expected_answer("slow")
    assert result.attempts == 2


def test_a_dropped_connection_and_a_503_are_retried(server, model):
    server.use(ChatScript(forced={"flaky": (Outcome.DROPPED, Outcome.UNAVAILABLE)}))

    result = complete_with_retries(model, ask("flaky"), sleep=RecordedSleep())

    assert result.ok and result.attempts == 3


def test_a_refused_request_is_not_retried(server, model):
    server.use(ChatScript(forced={"too long": (Outcome.BAD_REQUEST,)}))
    sleep = RecordedSleep()

    [result] = run_batch(model, [ask("too long")], sleep=sleep)

    assert result.error == "HTTP 400: max_tokens is too large for this model."
    assert result.attempts == 1 and sleep.waits == []


def test_malformed_json_from_the_model_is_returned_as_text(server, model):
    server.use(ChatScript(forced={"broken": (Outcome.MALFORMED_JSON,)}))

    result = model.complete(ask("broken"))

    assert result.ok and result.text == malformed_answer("broken")
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.text)


def test_images_are_sent_as_data_url_content_parts(server, model):
    model.complete(ask("What does the gauge read?", image=PNG))

    [received] = server.received
    text_part, image_part = received.body["messages"][-1]["content"]
    assert text_part == {"type": "text", "text": "What does the gauge read?"}
    assert image_part["type"] == "image_url"
    prefix, encoded = image_part["image_url"]["url"].split(",", 1)
    assert prefix == "data:image/png;base64"
    assert base64.b64decode(encoded) == PNG


def test_an_image_of_an_unsupported_type_is_refused_before_sending():
    with pytest.raises(ValueError, match="image/png"):
        ImagePart(b"%PDF-1.7", "application/pdf")


def test_the_batch_never_has_more_requests_in_flight_than_its_concurrency(server, model):
    server.use(ChatScript(latency_s=0.05))

    results = list(run_batch(model, (ask(f"item {i}") for i in range(40)), concurrency=3))

    assert len(results) == 40 and all(result.ok for result in results)
    assert 1 < server.max_in_flight <= 3


def test_the_batch_reads_its_requests_lazily_a_few_ahead_of_its_workers(server, model):
    drawn: list[int] = []

    def requests() -> Iterator[ChatRequest]:
        for i in range(1000):
            drawn.append(i)
            yield ask(f"item {i}")

    batch = run_batch(model, requests(), concurrency=2)
    first = next(batch)
    batch.close()

    assert first.ok
    assert len(drawn) <= 2 * 2  # each worker's request and one queued behind it


def test_faults_at_chosen_rates_each_stay_with_their_own_item(server, model):
    rates = {Outcome.RATE_LIMITED: 0.2, Outcome.SERVER_ERROR: 0.1, Outcome.MALFORMED_JSON: 0.1, Outcome.DROPPED: 0.1}
    server.use(ChatScript(seed=3, rates=rates, retry_after="0"))
    prompts = [f"item {i}" for i in range(60)]

    results = {
        r.request_id: r
        for r in run_batch(model, [ask(p) for p in prompts], concurrency=6, max_attempts=8, sleep=RecordedSleep())
    }

    assert set(results) == set(prompts)
    outcomes = [received.outcome for received in server.received]
    assert {Outcome.RATE_LIMITED, Outcome.SERVER_ERROR, Outcome.MALFORMED_JSON, Outcome.DROPPED} <= set(outcomes)
    assert sum(result.attempts for result in results.values()) == len(outcomes)
    for prompt, result in results.items():
        assert result.text in (expected_answer(prompt), malformed_answer(prompt)) or "gave up" in result.error


def test_an_unexpected_exception_fails_only_its_own_item():
    class Exploding(ChatModel):
        name = "exploding"

        def complete(self, request: ChatRequest, *, timeout_s: float | None = None) -> ChatResult:
            if request.request_id == "bad":
                raise KeyError("choices")
            return ChatResult(request.request_id, "fine", None, None, None, 1.0, 1, self.name)

        def describe(self) -> str:
            return "a model that raises on one request"

    results = {r.request_id: r for r in run_batch(Exploding(), [ask("a"), ask("b", "bad"), ask("c")])}

    assert results["a"].text == "fine" and results["c"].text == "fine"
    assert results["bad"].error == "Unexpected KeyError: 'choices'"


def test_should_stop_drops_queued_work_and_finishes_what_is_in_flight(server, model):
    server.use(ChatScript(latency_s=0.05))
    seen: list[ChatResult] = []

    results = list(
        run_batch(
            model,
            (ask(f"item {i}") for i in range(200)),
            concurrency=4,
            on_result=seen.append,
            should_stop=lambda: len(seen) >= 5,
        )
    )

    assert results == seen
    assert 5 <= len(results) < 5 + 2 * 4
    # Every call the server saw came back as a result: nothing was left running or lost.
    assert len(server.received) == len(results)


@pytest.mark.timeout(30)  # without a prompt stop the retry would wait the capped Retry-After (120 s)
def test_a_stop_cuts_short_a_retry_that_is_waiting(server, model):
    server.use(ChatScript(forced={"throttled": (Outcome.RATE_LIMITED,) * 5}, retry_after="600"))

    [result] = run_batch(model, [ask("throttled")], should_stop=lambda: len(server.received) >= 1)

    assert "HTTP 429" in result.error and "not retried: the run was stopped" in result.error
    assert len(server.received) == 1


def test_the_batch_refuses_a_concurrency_beyond_its_limit(model):
    with pytest.raises(ValueError, match="concurrency"):
        run_batch(model, [], concurrency=0)
    with pytest.raises(ValueError, match="concurrency"):
        run_batch(model, [], concurrency=1000)


def databricks_chat(server: FakeChatServer, endpoint: str = "databricks-claude-sonnet-4") -> DatabricksServingChat:
    def workspace():
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient(host=server.host, token="dapi-user", auth_type="pat")

    return DatabricksServingChat(workspace, endpoint)


def test_a_databricks_endpoint_is_called_with_the_workspace_auth_and_keeps_images(server):
    chat = databricks_chat(server)

    result = chat.complete(ask("Describe the label.", image=PNG))

    assert result.ok and result.text == expected_answer("Describe the label.")
    assert result.prompt_tokens == 6 and result.model == "fake-chat-1"
    [received] = [r for r in server.received if "invocations" in r.path]
    assert received.path == "/serving-endpoints/databricks-claude-sonnet-4/invocations"
    assert received.headers["authorization"] == "Bearer dapi-user"
    assert received.headers["x-databricks-workspace-id"] == FAKE_WORKSPACE_ID
    assert "model" not in received.body
    assert received.body["messages"][-1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_a_throttled_databricks_endpoint_is_retried_by_the_batch(server):
    server.use(ChatScript(forced={"busy": (Outcome.RATE_LIMITED, Outcome.SERVER_ERROR)}, retry_after="2"))
    sleep = RecordedSleep()

    [result] = run_batch(databricks_chat(server), [ask("busy")], sleep=sleep, rng=HighestJitter())

    assert result.ok and result.attempts == 3
    assert sleep.waits == [2.0, 2.0]


def test_a_databricks_refusal_carries_the_error_code_and_message(server):
    server.use(ChatScript(forced={"too long": (Outcome.BAD_REQUEST,)}))

    with pytest.raises(ModelError, match="BAD_REQUEST: max_tokens is too large"):
        databricks_chat(server).complete(ask("too long"))


def test_a_request_too_large_for_databricks_is_refused_before_sending(server):
    huge = PNG + bytes(MAX_REQUEST_BYTES)

    [result] = run_batch(databricks_chat(server), [ask("look", image=huge)])

    assert "accepts at most 4 MB" in result.error
    assert not [r for r in server.received if "invocations" in r.path]
