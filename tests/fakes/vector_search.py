"""Direct Vector Access indexes of Databricks Vector Search, as the REST API serves them.

Routes (what databricks-sdk's `vector_search_indexes` sends): `POST …/indexes/{name}/upsert-data`
(`inputs_json`), `DELETE …/indexes/{name}/delete-data?primary_keys=…` and `POST …/indexes/{name}/query`
(`query_vector`, `num_results`, `filters_json`, `score_threshold`, `columns`). As the service
does: exact search here (the real one is approximate, HNSW) by L2 distance, reported as the
similarity `1 / (1 + distance²)`; the answer's columns are the requested ones then `score`;
filters are `{"col": value}`, `{"col": [any, of]}`, `{"col >=": x}` (and `>`, `<`, `<=`, `NOT`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tests.fakes.databricks_rest import HttpError, _json, _not_found

PREFIX = "/api/2.0/vector-search/indexes/"


@dataclass
class FakeIndex:
    primary_key: str
    vector_column: str
    dimension: int
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeVectorSearch:
    def __init__(self) -> None:
        self.indexes: dict[str, FakeIndex] = {}
        self.queries: list[dict[str, Any]] = []

    def add_direct_index(self, name: str, dimension: int, primary_key: str = "id", vector_column: str = "embedding") -> None:
        self.indexes[name] = FakeIndex(primary_key, vector_column, dimension)

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        if not path.startswith(PREFIX):
            return None
        name, _, action = path[len(PREFIX):].partition("/")
        index = self.indexes.get(name)
        if index is None:
            raise _not_found(f"Vector index {name}")
        request = json.loads(body or b"{}")
        if action == "upsert-data" and method == "POST":
            return self._upsert(index, request)
        if action == "delete-data" and method == "DELETE":
            keys = query.get("primary_keys", [])
            for key in keys:
                index.rows.pop(key, None)
            return _json(200, {"status": "SUCCESS", "result": {"success_row_count": len(keys)}})
        if action == "query" and method == "POST":
            self.queries.append(request)
            return self._query(index, request)
        return None

    def _upsert(self, index: FakeIndex, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        try:
            rows = json.loads(request["inputs_json"])
        except (KeyError, ValueError) as error:
            raise HttpError(400, "INVALID_PARAMETER_VALUE", f"inputs_json is not valid JSON: {error}") from error
        failed = []
        for row in rows:
            vector = row.get(index.vector_column)
            if not isinstance(vector, list) or len(vector) != index.dimension or index.primary_key not in row:
                failed.append(str(row.get(index.primary_key)))
                continue
            index.rows[str(row[index.primary_key])] = row
        status = "SUCCESS" if not failed else ("FAILURE" if len(failed) == len(rows) else "PARTIAL_SUCCESS")
        return _json(200, {"status": status, "result": {"success_row_count": len(rows) - len(failed), "failed_primary_keys": failed}})

    def _query(self, index: FakeIndex, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        vector = request.get("query_vector")
        if not isinstance(vector, list) or len(vector) != index.dimension:
            raise HttpError(400, "INVALID_PARAMETER_VALUE", f"query_vector must have {index.dimension} dimensions.")
        columns = request.get("columns") or []
        if not columns:
            raise HttpError(400, "INVALID_PARAMETER_VALUE", "columns must not be empty.")
        filters = json.loads(request["filters_json"]) if request.get("filters_json") else {}
        query = np.asarray(vector, dtype=np.float64)
        scored = []
        for row in index.rows.values():
            if all(_passes(row, key, value) for key, value in filters.items()):
                distance = float(np.linalg.norm(np.asarray(row[index.vector_column], dtype=np.float64) - query))
                scored.append((1.0 / (1.0 + distance**2), row))
        threshold = float(request.get("score_threshold") or 0.0)
        scored = sorted((s for s in scored if s[0] >= threshold), key=lambda s: -s[0])[: int(request.get("num_results") or 10)]
        return _json(200, {
            "manifest": {"column_count": len(columns) + 1, "columns": [{"name": c} for c in columns] + [{"name": "score"}]},
            "result": {"row_count": len(scored), "data_array": [[row.get(c) for c in columns] + [score] for score, row in scored]},
        })


def _passes(row: dict[str, Any], key: str, wanted: Any) -> bool:
    column, _, op = key.partition(" ")
    value = row.get(column)
    if op == "NOT":
        return value not in (wanted if isinstance(wanted, list) else [wanted])
    if op:
        if value is None:
            return False
        return {">=": value >= wanted, ">": value > wanted, "<=": value <= wanted, "<": value < wanted}[op]
    return value in wanted if isinstance(wanted, list) else value == wanted
