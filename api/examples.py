"""`GET/POST /api/v1/examples/search`: governed few-shot examples nearest a query, for agents.

POST takes `{"query", "k", "min_score", "filters": {"function_names", "domain", "min_quality",
"min_effectiveness"}}`; GET takes the same as query parameters (`q` or `query`, `k`,
`min_score`, `function_name` repeated, `domain`, `min_quality`, `min_effectiveness`). Both
answer `{"results": [{"example_id", "score", "input", "expected_output", ...}]}`, best first,
gated at this moment (DESIGN invariant 10); each result's usage count goes up by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http import ApiError, api_route, read_json
from api.identity import caller_workbench
from services.example_store.records import ExampleFilters, SearchHit
from services.example_store.search import search

PATH = "/api/v1/examples/search"
DEFAULT_K = 5


async def search_examples(request: Request) -> Response:
    workbench = caller_workbench(request)
    if request.method == "POST":
        body = await read_json(request)
        query, k, min_score, filters = _query(body.get("query")), body.get("k", DEFAULT_K), body.get("min_score", 0.0), _filters(body.get("filters") or {})
    else:
        params = request.query_params
        query = _query(params.get("query", params.get("q")))
        k, min_score = _number(params.get("k", str(DEFAULT_K)), "k"), _number(params.get("min_score", "0"), "min_score")
        filters = _filters({
            "function_names": params.getlist("function_name"), "domain": params.get("domain"),
            "min_quality": _number(params.get("min_quality"), "min_quality"),
            "min_effectiveness": _number(params.get("min_effectiveness"), "min_effectiveness"),
        })
    if isinstance(k, bool) or not isinstance(k, int | float) or int(k) != k:
        raise ApiError(400, "INVALID_REQUEST", "'k' must be a whole number.")
    if isinstance(min_score, bool) or not isinstance(min_score, int | float):
        raise ApiError(400, "INVALID_REQUEST", "'min_score' must be a number between -1 and 1.")
    hits = await run_in_threadpool(search, workbench, query, int(k), float(min_score), filters)
    return JSONResponse({"results": [_describe(h) for h in hits]})


def _query(value: object) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "INVALID_REQUEST", "'query' (the text to find examples for) is required.")
    return value


def _number(text: str | None, name: str) -> float | int | None:
    if text is None or text == "":
        return None
    try:
        return int(text) if text.lstrip("-").isdigit() else float(text)
    except ValueError:
        raise ApiError(400, "INVALID_REQUEST", f"'{name}' must be a number, got {text!r}.") from None


def _filters(raw: object) -> ExampleFilters:
    if not isinstance(raw, Mapping):
        raise ApiError(400, "INVALID_REQUEST", "'filters' must be an object.")
    unknown = set(raw) - {"function_names", "domain", "min_quality", "min_effectiveness"}
    if unknown:
        raise ApiError(400, "INVALID_REQUEST", f"Unknown filter(s): {', '.join(sorted(unknown))}.")
    names = raw.get("function_names") or []
    if isinstance(names, str) or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ApiError(400, "INVALID_REQUEST", "'function_names' must be a list of names.")
    domain = raw.get("domain")
    if domain is not None and not isinstance(domain, str):
        raise ApiError(400, "INVALID_REQUEST", "'domain' must be a name.")
    return ExampleFilters(tuple(names), domain or None, _score(raw, "min_quality"), _score(raw, "min_effectiveness"))


def _score(raw: Mapping[str, Any], name: str) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, "INVALID_REQUEST", f"'{name}' must be a number.")
    return float(value)


def _describe(hit: SearchHit) -> dict[str, object]:
    e = hit.example
    return {
        "example_id": e.example_id, "score": hit.score, "input": e.input, "expected_output": e.expected_output,
        "explanation": e.explanation, "search_keys": list(e.search_keys), "function_name": e.function_name,
        "domain": e.domain, "quality_score": e.quality_score, "effectiveness_score": e.effectiveness_score,
        "usage_count": e.usage_count, "source_qa_pair_id": e.source_qa_pair_id,
    }


ROUTES = [api_route(PATH, search_examples, ["GET", "POST"])]
