"""The embedded store's example index: a DuckDB table with a fixed-size FLOAT array column.

DuckDB's `array_cosine_similarity` needs `FLOAT[n]`; the Delta-shaped `example_store.embedding`
is a variable-length `ARRAY<FLOAT>`, and casting it on every query cost about three times as
much (measured, README). So the index keeps its own copy, the way a Databricks Direct Vector
Access index does, and the example store writes both. DuckDB's own dialect: local only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data_access.sql.duckdb_engine import DuckDbEngine
from data_access.sql.names import TableName
from data_access.vector_search.index import (
    ExampleVectorIndex,
    IndexedVector,
    IndexFilters,
    VectorHit,
    checked_vector,
)


class LocalExampleIndex(ExampleVectorIndex):
    def __init__(self, engine: DuckDbEngine, table: str, dimension: int) -> None:
        self._engine = engine
        self.dimension = dimension
        # One table per dimension: a different embedding model never mixes vectors.
        self._table = str(TableName.parse(f"{table}_{dimension}"))  # checked identifiers: safe to write in
        engine.raw(
            f"CREATE TABLE IF NOT EXISTS {self._table} (id VARCHAR PRIMARY KEY, function_name VARCHAR, "
            f"domain VARCHAR, quality_score DOUBLE, embedding FLOAT[{dimension}])"
        )

    def upsert(self, rows: Sequence[IndexedVector]) -> None:
        if not rows:
            return
        self.delete([r.id for r in rows])
        # One statement for all rows: parallel unnests zip the column lists back into rows.
        self._engine.raw(
            f"INSERT INTO {self._table} SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
            f"unnest(?::DOUBLE[]), unnest(?::FLOAT[{self.dimension}][])",
            [
                [r.id for r in rows], [r.function_name for r in rows], [r.domain for r in rows],
                [r.quality_score for r in rows], [checked_vector(r.vector, self.dimension) for r in rows],
            ],
        )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._engine.raw(f"DELETE FROM {self._table} WHERE list_contains(?::VARCHAR[], id)", [list(ids)])

    def search(self, vector: np.ndarray, k: int, filters: IndexFilters, min_score: float) -> list[VectorHit]:
        clauses, params = ["TRUE"], [checked_vector(vector, self.dimension)]
        if filters.function_names:
            clauses.append("list_contains(?::VARCHAR[], function_name)")
            params.append(list(filters.function_names))
        if filters.domain:
            clauses.append("domain = ?")
            params.append(filters.domain)
        if filters.min_quality is not None:
            clauses.append("quality_score >= ?")
            params.append(filters.min_quality)
        rows = self._engine.raw(
            f"SELECT id, score FROM (SELECT id, array_cosine_similarity(embedding, ?::FLOAT[{self.dimension}]) AS score "
            f"FROM {self._table} WHERE {' AND '.join(clauses)}) WHERE score >= ? ORDER BY score DESC, id LIMIT ?",
            [*params, min_score, k],
        )
        return [VectorHit(row_id, float(score)) for row_id, score in rows]

    def count(self) -> int:
        return int(self._engine.raw(f"SELECT count(*) FROM {self._table}")[0][0])
