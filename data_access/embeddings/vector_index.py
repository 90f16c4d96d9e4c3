"""A small in-process vector index: exact cosine search by one matrix product.

Sized for what the laptop backend holds (labeled items and examples, thousands to tens of
thousands of rows); exact search at that size is faster than building an approximate index.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence

import numpy as np

from data_access.embeddings.embedder import l2_normalised

# Rows reserved the first time; the buffer doubles after that, so adding one at a time stays cheap.
_INITIAL_CAPACITY = 256


class VectorIndex:
    def __init__(self, dimension: int) -> None:
        if dimension < 1:
            raise ValueError("dimension must be positive.")
        self.dimension = dimension
        self._vectors = np.zeros((0, dimension), dtype=np.float32)
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._row_of

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Adds vectors under ids; an id already present gets its vector replaced."""
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dimension:
            raise ValueError(f"Expected vectors of shape (n, {self.dimension}), got {matrix.shape}.")
        if len(ids) != matrix.shape[0]:
            raise ValueError(f"{len(ids)} ids for {matrix.shape[0]} vectors.")
        if len(set(ids)) != len(ids):
            raise ValueError("The same id appears twice in one add().")
        normalised = l2_normalised(matrix)
        with self._lock:
            for item_id, vector in zip(ids, normalised, strict=True):
                row = self._row_of.get(item_id)
                if row is None:
                    row = len(self._ids)
                    self._reserve(row + 1)
                    self._ids.append(item_id)
                    self._row_of[item_id] = row
                self._vectors[row] = vector

    def search(self, vector: np.ndarray, k: int, allowed_ids: Collection[str] | None = None) -> list[tuple[str, float]]:
        """The k ids most similar to `vector` (cosine), best first; ties keep insertion order.
        With `allowed_ids`, only those ids are candidates."""
        if k < 1:
            raise ValueError("k must be at least 1.")
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dimension:
            raise ValueError(f"Expected a query of length {self.dimension}, got {query.shape[0]}.")
        query = l2_normalised(query[np.newaxis, :])[0]
        with self._lock:
            if allowed_ids is None:
                rows = np.arange(len(self._ids))
            else:
                rows = np.array(sorted(self._row_of[i] for i in set(allowed_ids) if i in self._row_of), dtype=np.int64)
            if rows.size == 0:
                return []
            scores = self._vectors[rows] @ query
            ids = [self._ids[row] for row in rows]
        best = np.lexsort((rows, -scores))[:k]
        return [(ids[position], float(scores[position])) for position in best]

    def _reserve(self, rows: int) -> None:
        if rows <= self._vectors.shape[0]:
            return
        capacity = max(_INITIAL_CAPACITY, self._vectors.shape[0] * 2, rows)
        grown = np.zeros((capacity, self.dimension), dtype=np.float32)
        grown[: len(self._ids)] = self._vectors[: len(self._ids)]
        self._vectors = grown
