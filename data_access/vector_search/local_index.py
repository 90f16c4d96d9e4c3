"""The embedded store's example index: the example table's own vectors, searched in memory.

The example table is the index's durable copy, the way a Databricks Delta Sync index reads its
source table: a process loads the table's vectors of this index's dimension into a numpy mirror
once per store, and every write of the example store updates the mirror beside the table.
An earlier version kept a second copy in its own `FLOAT[n]` table; writing and checkpointing
that copy took 2–5 s of a first sync of 100,000 examples (README), and it is dropped when found.

Searching in SQL took 2.5–3× as long as one matrix product over the same vectors held in numpy
even over that `FLOAT[n]` copy, and 25× over the table's arrays cast per query (README: measured
over 100,000 examples). DuckDB holds an exclusive lock on its file, so this
process is the only writer, and every write of the example store goes through here: a mirror,
loaded once per store and updated with each write, cannot go stale. DuckDB's own dialect: local only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from data_access.embeddings.embedder import l2_normalised
from data_access.sql.duckdb_engine import DuckDbEngine
from data_access.sql.names import TableName
from data_access.vector_search.index import (
    ExampleVectorIndex,
    IndexedVectors,
    IndexFilters,
    VectorHit,
    checked_matrix,
    checked_vector,
)

# Stores one process mirrors at once (tests open many); 100,000 examples of 384 floats are 150 MB.
_MAX_MIRRORS = 4
_INITIAL_CAPACITY = 1024
# Filters whose candidate rows a mirror keeps between writes: a page's or an agent's few usual
# filters; each holds a copy of its rows' vectors (a tenth of the store for one domain of ten).
_MAX_FILTERS_KEPT = 8
# One matrix-vector product over a filter's rows (10,000 × 384 floats) is too small to share out:
# on the shared 2 cores BLAS's threads waited on each other, p95 11.4 ms against 1.0 ms on one
# thread (300 products side by side, load average 3-5). Limited per call, not process-wide.
_BLAS = ThreadpoolController()
_NO_CODE = 0  # the code of a missing domain or function name
_UNKNOWN_CODE = -1  # a filter's name that no row has
RETIRED_COPY = "example_vectors"  # the earlier version's FLOAT[n] table, one per dimension


class _Mirror:
    """The index's rows in numpy: vectors, filter columns and which rows are live.

    Domains and function names are kept as integer codes, so a filter is an integer comparison,
    not a string one per row; the rows a filter leaves, and their vectors gathered into one
    contiguous matrix, are kept per filter until the next write (a repeated filtered search then
    reads a tenth of the memory, once, instead of gathering it every time).
    """

    def __init__(self, dimension: int) -> None:
        self.lock = threading.Lock()
        self.row_of: dict[str, int] = {}
        self.ids: list[str] = []
        self.vectors = np.zeros((0, dimension), dtype=np.float32)
        self.functions = np.zeros(0, dtype=np.int32)
        self.domains = np.zeros(0, dtype=np.int32)
        self.quality = np.zeros(0, dtype=np.float64)
        self.live = np.zeros(0, dtype=bool)
        self._codes: dict[str | None, int] = {None: _NO_CODE}
        self._filtered: OrderedDict[IndexFilters, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def put(self, ids: Sequence[str], vectors: np.ndarray, functions: Sequence[Any], domains: Sequence[Any], quality: Sequence[Any]) -> None:
        used = len(self.ids)
        rows = []
        for item_id in ids:
            row = self.row_of.get(item_id)
            if row is None:
                row = len(self.ids)
                self.ids.append(item_id)
                self.row_of[item_id] = row
            rows.append(row)
        self._reserve(len(self.ids))
        at: slice | np.ndarray
        if len(self.ids) - used == len(rows):
            # Ids all new and distinct (a sync's) take the next rows in order: normalised straight
            # into them, without a temporary matrix (150 MB for 100,000 rows).
            at = slice(used, len(self.ids))
            l2_normalised(vectors, out=self.vectors[at])
        else:
            at = np.asarray(rows, dtype=np.int64)
            self.vectors[at] = l2_normalised(vectors)
        self.functions[at] = self._codes_of(functions)
        self.domains[at] = self._codes_of(domains)
        self.quality[at] = np.asarray(quality, dtype=np.float64)  # None reads as NaN: unrated
        self.live[at] = True
        self._filtered.clear()

    def drop(self, ids: Sequence[str]) -> None:
        # Rows are marked dead, not moved: a later upsert of the same id takes its row back.
        for item_id in ids:
            row = self.row_of.get(item_id)
            if row is not None:
                self.live[row] = False
        self._filtered.clear()

    def live_count(self) -> int:
        return int(self.live[:len(self.ids)].sum())

    def _code(self, name: str | None) -> int:
        return self._codes.setdefault(name, len(self._codes))

    def _codes_of(self, names: Sequence[str | None]) -> np.ndarray:
        # A batch has a handful of distinct names: code each once, then look the rows up.
        codes = {name: self._code(name) for name in dict.fromkeys(names)}
        return np.fromiter((codes[name] for name in names), dtype=np.int32, count=len(names))

    def _reserve(self, rows: int) -> None:
        if rows <= self.vectors.shape[0]:
            return
        capacity = max(_INITIAL_CAPACITY, self.vectors.shape[0] * 2, rows)
        used = self.vectors.shape[0]
        grown = np.zeros((capacity, self.vectors.shape[1]), dtype=np.float32)
        grown[:used] = self.vectors
        self.vectors = grown
        self.functions = np.concatenate([self.functions, np.full(capacity - used, _NO_CODE, dtype=np.int32)])
        self.domains = np.concatenate([self.domains, np.full(capacity - used, _NO_CODE, dtype=np.int32)])
        self.quality = np.concatenate([self.quality, np.full(capacity - used, np.nan)])
        self.live = np.concatenate([self.live, np.zeros(capacity - used, dtype=bool)])

    def _candidates(self, filters: IndexFilters) -> tuple[np.ndarray | None, np.ndarray]:
        """The rows that pass the filters (None: every used row) and their vectors."""
        used = len(self.ids)
        found = self._filtered.get(filters)
        if found is not None:
            self._filtered.move_to_end(filters)
            return found
        mask = self.live[:used].copy()
        if filters.function_names:
            # A name never stored has no code and matches nothing.
            mask &= np.isin(self.functions[:used], [self._codes[n] for n in filters.function_names if n in self._codes])
        if filters.domain:
            mask &= self.domains[:used] == self._codes.get(filters.domain, _UNKNOWN_CODE)
        if filters.min_quality is not None:
            mask &= self.quality[:used] >= filters.min_quality  # NaN (unrated) compares False: left out
        if mask.all():
            return None, self.vectors[:used]
        rows = np.flatnonzero(mask)
        found = (rows, np.ascontiguousarray(self.vectors[rows]))
        self._filtered[filters] = found
        while len(self._filtered) > _MAX_FILTERS_KEPT:
            self._filtered.popitem(last=False)
        return found

    def search(self, query: np.ndarray, k: int, filters: IndexFilters, min_score: float) -> list[VectorHit]:
        rows, vectors = self._candidates(filters)
        if vectors.shape[0] == 0:
            return []
        with _BLAS.limit(limits=1, user_api="blas"):
            scores = vectors @ query
        positions = np.flatnonzero(scores >= min_score)
        if positions.size > k:
            positions = positions[np.argpartition(-scores[positions], k - 1)[:k]]
        chosen = positions if rows is None else rows[positions]
        order = np.lexsort((chosen, -scores[positions]))
        return [VectorHit(self.ids[chosen[i]], float(scores[positions[i]])) for i in order]


_mirrors: OrderedDict[tuple[int, str], tuple[Any, _Mirror]] = OrderedDict()
_mirrors_lock = threading.Lock()


class LocalExampleIndex(ExampleVectorIndex):
    def __init__(self, engine: DuckDbEngine, examples_table: str, dimension: int) -> None:
        """`examples_table` has the example store's columns: example_id, function_name, domain,
        quality_score and embedding (a float array; rows of another length are another model's)."""
        self._engine = engine
        self.dimension = dimension
        self._table = TableName.parse(examples_table)  # checked identifiers: safe to write in
        self._mirror = self._mirror_for(engine.connection)

    def _mirror_for(self, connection: Any) -> _Mirror:
        key = (id(connection), f"{self._table}/{self.dimension}")
        with _mirrors_lock:
            found = _mirrors.get(key)
            if found is not None and found[0] is connection:
                _mirrors.move_to_end(key)
                return found[1]
            mirror = self._load()
            _mirrors[key] = (connection, mirror)
            while len(_mirrors) > _MAX_MIRRORS:
                _mirrors.popitem(last=False)
            return mirror

    def _load(self) -> _Mirror:
        self._drop_retired_copy()
        mirror = _Mirror(self.dimension)
        table = self._engine.connection.cursor().sql(
            f"SELECT example_id, function_name, domain, quality_score, embedding FROM {self._table} "
            f"WHERE len(embedding) = {int(self.dimension)}"
        ).to_arrow_table()
        if table.num_rows:
            flat = table.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            mirror.put(table.column("example_id").to_pylist(), flat.reshape(table.num_rows, self.dimension),
                       table.column("function_name").to_pylist(), table.column("domain").to_pylist(),
                       table.column("quality_score").to_pylist())
        return mirror

    def _drop_retired_copy(self) -> None:
        """The second copy of the vectors an earlier version kept beside the table, if this store has one."""
        retired = TableName(self._table.catalog, self._table.schema, f"{RETIRED_COPY}_{int(self.dimension)}")
        self._engine.raw(f"DROP TABLE IF EXISTS {retired}")

    def upsert_batch(self, batch: IndexedVectors) -> None:
        if not batch.ids:
            return
        vectors = checked_matrix(batch.vectors, self.dimension)
        with self._mirror.lock:
            self._mirror.put(list(batch.ids), vectors, batch.function_names, batch.domains, batch.quality_scores)

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            with self._mirror.lock:
                self._mirror.drop(ids)

    def search(self, vector: np.ndarray, k: int, filters: IndexFilters, min_score: float) -> list[VectorHit]:
        query = l2_normalised(np.asarray([checked_vector(vector, self.dimension)], dtype=np.float32))[0]
        with self._mirror.lock:
            return self._mirror.search(query, k, filters, min_score)

    def sql_search(self, vector: np.ndarray, k: int, filters: IndexFilters, min_score: float) -> list[VectorHit]:
        """The same search in DuckDB over the example table: the alternative the bench compares."""
        clauses, params = [f"len(embedding) = {int(self.dimension)}"], [checked_vector(vector, self.dimension)]
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
            f"SELECT id, score FROM (SELECT example_id AS id, array_cosine_similarity(embedding::FLOAT[{self.dimension}], "
            f"?::FLOAT[{self.dimension}]) AS score FROM {self._table} WHERE {' AND '.join(clauses)}) "
            "WHERE score >= ? ORDER BY score DESC, id LIMIT ?",
            [*params, min_score, k],
        )
        return [VectorHit(row_id, float(score)) for row_id, score in rows]

    def count(self) -> int:
        with self._mirror.lock:
            return self._mirror.live_count()
