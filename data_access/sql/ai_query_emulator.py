"""`ai_query` on the embedded store, so warehouse-side generation runs and is tested locally.

On Databricks, `ai_query(endpoint, request)` calls a Model Serving endpoint from inside a
SQL statement. Here the same statement runs on DuckDB with Python UDFs that call a chat
model: `ai_query` (returns the answer, failing the statement on an error, as Databricks
does) and `ai_query_or_error` (what `ai_query(..., failOnError => false)` is transpiled to:
a struct of result and errorMessage). DuckDB hands the UDFs whole vectors, which are
answered with bounded concurrency.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import duckdb
import pyarrow as pa

from data_access.llm.batch import run_batch
from data_access.llm.chat import ChatMessage, ChatModel, ChatRequest
from data_access.sql.duckdb_engine import DuckDbEngine
from data_access.sql.transpile import AI_QUERY_OR_ERROR

AI_QUERY_MAX_TOKENS = 1024  # what Databricks' ai_query leaves to the endpoint's default
_RESULT_TYPE = pa.struct([("result", pa.string()), ("errorMessage", pa.string())])


class AiQueryError(RuntimeError):
    """The model did not answer one request; on Databricks the statement fails the same way."""


def _answers(model_for: Callable[[str], ChatModel], concurrency: int, endpoints: pa.Array, requests: pa.Array) -> list[tuple[str | None, str | None]]:
    calls = [
        (index, endpoint, request)
        for index, (endpoint, request) in enumerate(zip(endpoints.to_pylist(), requests.to_pylist(), strict=True))
        if endpoint is not None and request is not None
    ]
    answers: list[tuple[str | None, str | None]] = [(None, None)] * len(endpoints)
    for endpoint in {e for _, e, _ in calls}:
        batch = [
            ChatRequest((ChatMessage("user", request),), endpoint, 0.0, AI_QUERY_MAX_TOKENS, str(index))
            for index, e, request in calls
            if e == endpoint
        ]
        for result in run_batch(model_for(endpoint), batch, concurrency=concurrency):
            answers[int(result.request_id)] = (result.text, result.error)
    return answers


def install_ai_query(engine: DuckDbEngine, model_for: Callable[[str], ChatModel], concurrency: int = 8) -> None:
    def ai_query(endpoints: pa.Array, requests: pa.Array) -> pa.Array:
        answers = _answers(model_for, concurrency, endpoints, requests)
        failed = next((error for _, error in answers if error), None)
        if failed:
            raise AiQueryError(f"ai_query: {failed}")
        return pa.array([text for text, _ in answers], pa.string())

    def ai_query_or_error(endpoints: pa.Array, requests: pa.Array) -> pa.Array:
        answers = _answers(model_for, concurrency, endpoints, requests)
        return pa.array([{"result": text, "errorMessage": error} for text, error in answers], _RESULT_TYPE)

    for name, function, returns in (
        ("ai_query", ai_query, "VARCHAR"),
        (AI_QUERY_OR_ERROR, ai_query_or_error, "STRUCT(result VARCHAR, errorMessage VARCHAR)"),
    ):
        with contextlib.suppress(duckdb.InvalidInputException):  # not registered yet
            engine.connection.remove_function(name)
        engine.connection.create_function(name, function, ["VARCHAR", "VARCHAR"], returns, type="arrow", side_effects=True)
