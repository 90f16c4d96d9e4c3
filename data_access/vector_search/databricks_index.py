"""Databricks Vector Search (AI Search) as the example index: a Direct Vector Access index.

Through the SDK's `vector_search_indexes` API (the REST routes `/api/2.0/vector-search/indexes/
{name}/query|upsert-data|delete-data`), so no extra client library is needed. The index's
primary key is `id`; it holds the filter columns beside the vector, and the example store keeps
it in step with the `example_store` table on every write.

Vector Search ranks by L2 distance and reports `1 / (1 + distance²)`; for the unit vectors the
embedders give, distance² = 2 − 2·cosine, so scores and thresholds are converted both ways and
every backend speaks cosine similarity.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from data_access.vector_search.index import (
    ExampleVectorIndex,
    IndexedVectors,
    IndexFilters,
    VectorHit,
    VectorIndexError,
    checked_matrix,
    checked_vector,
)

_COLUMNS = ["id"]
# One upsert request carries at most this much JSON, whatever the vectors' dimension (a float is
# about 22 characters: a 384-dimension row is near 8.5 KB, a 1024-dimension one near 23 KB), well
# inside what the Vector Search API accepts. Deleted keys travel in the URL's query string, which
# servers and proxies cap at around 8 KB: 100 ids of 36 characters with their names fit.
UPSERT_BYTES = 2_000_000
DELETE_KEYS = 100


class DatabricksExampleIndex(ExampleVectorIndex):
    def __init__(
        self, client_factory: Callable[[], Any], index_name: str, dimension: int, *,
        upsert_bytes: int = UPSERT_BYTES, delete_keys: int = DELETE_KEYS,
    ) -> None:
        if not index_name.strip():
            raise VectorIndexError("No Vector Search index is configured (WORKBENCH_EXAMPLE_INDEX).")
        self._client_factory = client_factory
        self._index = index_name.strip()
        self.dimension = dimension
        self._upsert_bytes, self._delete_keys = upsert_bytes, delete_keys

    def _indexes(self) -> Any:
        return self._client_factory().vector_search_indexes

    @contextmanager
    def _answering(self, what: str) -> Iterator[None]:
        from databricks.sdk.errors import DatabricksError

        try:
            yield
        except DatabricksError as error:
            raise VectorIndexError(f"Vector Search index {self._index} refused to {what}: {error}") from error

    def upsert_batch(self, batch: IndexedVectors) -> None:
        if not batch.ids:
            return
        # The matrix to lists in one call, not one checked vector per row.
        vectors = checked_matrix(batch.vectors, self.dimension).tolist()
        rows = (
            {"id": i, "function_name": f, "domain": d, "quality_score": q, "embedding": v}
            for i, f, d, q, v in zip(batch.ids, batch.function_names, batch.domains, batch.quality_scores, vectors, strict=True)
        )
        for request in json_arrays(rows, self._upsert_bytes):
            self._upsert(request)

    def _upsert(self, request: JsonArray) -> None:
        with self._answering("store examples"):
            answer = self._indexes().upsert_data_vector_index(index_name=self._index, inputs_json=request.text)
        failed = list(getattr(answer.result, "failed_primary_keys", None) or ()) if answer.result else []
        if failed or str(getattr(answer.status, "value", answer.status)) == "FAILURE":
            raise VectorIndexError(f"Vector Search refused {len(failed) or request.count} example(s): {', '.join(failed[:5])}")

    def delete(self, ids: Sequence[str]) -> None:
        keys = list(ids)
        for start in range(0, len(keys), self._delete_keys):
            with self._answering("delete examples"):
                self._indexes().delete_data_vector_index(index_name=self._index, primary_keys=keys[start : start + self._delete_keys])

    def search(self, vector: np.ndarray, k: int, filters: IndexFilters, min_score: float) -> list[VectorHit]:
        spec = filters_json(filters)
        with self._answering("search"):
            answer = self._indexes().query_index(
                index_name=self._index, columns=_COLUMNS, query_vector=checked_vector(vector, self.dimension),
                num_results=k, filters_json=json.dumps(spec) if spec else None, score_threshold=similarity_from_cosine(min_score),
            )
        names = [c.name for c in (answer.manifest.columns or [])] if answer.manifest else []
        if "id" not in names or "score" not in names:
            raise VectorIndexError(f"Vector Search answered without id and score columns (got {names}).")
        rows = (answer.result.data_array or []) if answer.result else []
        hits = [VectorHit(str(row[names.index("id")]), cosine_from_similarity(float(row[names.index("score")]))) for row in rows]
        # Rounding in the conversion must not let a hit just under the threshold through.
        return [h for h in hits if h.score >= min_score][:k]


@dataclass(frozen=True)
class JsonArray:
    text: str
    count: int


def json_arrays(items: Iterable[Any], max_chars: int) -> Iterator[JsonArray]:
    """The items as JSON arrays of at most `max_chars` each (an item larger than that goes alone)."""
    encoded: list[str] = []
    size = 2  # the brackets
    for item in items:
        text = json.dumps(item)
        comma = 1 if encoded else 0
        if encoded and size + comma + len(text) > max_chars:
            yield JsonArray(f"[{','.join(encoded)}]", len(encoded))
            encoded, size, comma = [], 2, 0
        encoded.append(text)
        size += comma + len(text)
    if encoded:
        yield JsonArray(f"[{','.join(encoded)}]", len(encoded))


def similarity_from_cosine(cosine: float) -> float:
    """Vector Search's score for unit vectors at this cosine (−1 → 0.2, 1 → 1)."""
    return 1.0 / (3.0 - 2.0 * max(-1.0, min(1.0, cosine)))


def cosine_from_similarity(score: float) -> float:
    if score <= 0:
        raise VectorIndexError(f"Vector Search answered a score of {score}; scores are above 0.")
    return max(-1.0, min(1.0, (3.0 - 1.0 / score) / 2.0))


def filters_json(filters: IndexFilters) -> dict[str, Any]:
    """Vector Search's filter syntax: a list means any of, `col >=` a lower bound."""
    spec: dict[str, Any] = {}
    if filters.function_names:
        spec["function_name"] = list(filters.function_names)
    if filters.domain:
        spec["domain"] = filters.domain
    if filters.min_quality is not None:
        spec["quality_score >="] = filters.min_quality
    return spec
