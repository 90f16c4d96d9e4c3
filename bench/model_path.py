"""Model path: items per second through the batch runner against a chat server with fixed latency.

Goal (issue "Models"): 2,000 items against a fake model answering in 100 ms reach at least 85%
of the ideal rate, concurrency x (1 / latency) pairs per second, i.e. 68 pairs/s at concurrency 8.
The whole path is real except the model: OpenAICompatibleChat over loopback HTTP with pooled
keep-alive connections, and run_batch's bounded submission, retries and result hand-off.
The fake lives in tests/fakes (this is a dev tool run from the repo root, like the tests).
"""

from __future__ import annotations

import statistics
import time

from bench.measure import Measurement, at_least
from data_access.llm.batch import run_batch
from data_access.llm.chat import ChatMessage, ChatRequest
from data_access.llm.openai_compatible import OpenAICompatibleChat
from tests.fakes.chat_server import ChatScript, FakeChatServer

GOAL_RATIO = 0.85


def _requests(items: int) -> list[ChatRequest]:
    system = ChatMessage("system", "You label maintenance reports. Answer with JSON only.")
    return [
        ChatRequest(
            messages=(system, ChatMessage("user", f"Report {i}: pump P-{i % 97} vibrates above 7 mm/s at 1,480 rpm.")),
            model="",
            temperature=0.0,
            max_tokens=256,
            request_id=f"item-{i}",
        )
        for i in range(items)
    ]


def bench_model_path(items: int = 2000, latency_s: float = 0.1, concurrency: int = 8) -> dict[str, float | int | bool]:
    requests = _requests(items)
    with FakeChatServer(ChatScript(latency_s=latency_s)) as server:
        model = OpenAICompatibleChat(server.base_url, default_model="bench-model")
        try:
            started = time.perf_counter()
            results = list(run_batch(model, requests, concurrency=concurrency))
            elapsed_s = time.perf_counter() - started
        finally:
            model.close()
        max_in_flight = server.max_in_flight
    latencies = sorted(result.latency_ms for result in results)
    pairs_per_s = len(results) / elapsed_s
    ideal = concurrency / latency_s
    return {
        "items": len(results),
        "concurrency": concurrency,
        "latency_s": latency_s,
        "elapsed_s": round(elapsed_s, 2),
        "pairs_per_s": round(pairs_per_s, 1),
        "ideal_pairs_per_s": round(ideal, 1),
        "ratio": round(pairs_per_s / ideal, 3),
        "goal_ratio": GOAL_RATIO,
        "met": pairs_per_s / ideal >= GOAL_RATIO,
        "p50_latency_ms": round(statistics.median(latencies), 1),
        "p95_latency_ms": round(statistics.quantiles(latencies, n=20)[-1], 1),
        "errors": sum(1 for result in results if not result.ok),
        "max_in_flight": max_in_flight,
    }


if __name__ == "__main__":
    print(bench_model_path())


def run() -> list[Measurement]:
    figures = bench_model_path()
    detail = (
        f"{figures['pairs_per_s']} pairs/s of ideal {figures['ideal_pairs_per_s']} (8 × 1/100 ms); "
        f"p95 {figures['p95_latency_ms']} ms; {figures['errors']} errors"
    )
    return [at_least("Model path: 2,000 items, fake model at 100 ms, concurrency 8", float(figures["ratio"]) * 100, GOAL_RATIO * 100, "% of ideal", detail)]
