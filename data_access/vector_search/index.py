"""The vector-index seam: examples' vectors and filter columns in, nearest ids with scores out.

An index only ranks by meaning and applies the filters it was given; it knows nothing about
governance. The example store's retrieval gates what an index returns (DESIGN invariant 10).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


class VectorIndexError(RuntimeError):
    """The index refused or answered with something unusable; the message says which."""


@dataclass(frozen=True)
class IndexedVector:
    """One example as the index holds it: its id, vector and the columns filters look at."""

    id: str
    vector: np.ndarray
    function_name: str | None = None
    domain: str | None = None
    quality_score: float | None = None


@dataclass(frozen=True)
class IndexedVectors:
    """Many rows as the index holds them, column by column, the vectors one (n, dimension)
    matrix: a sync writes 100,000 at once, and an object per row was much of its time."""

    ids: Sequence[str]
    vectors: Any  # an (n, dimension) array, or a sequence of n vectors (checked_matrix checks either)
    function_names: Sequence[str | None]
    domains: Sequence[str | None]
    quality_scores: Sequence[float | None]

    @classmethod
    def of(cls, rows: Sequence[IndexedVector]) -> IndexedVectors:
        return cls([r.id for r in rows], [r.vector for r in rows], [r.function_name for r in rows],
                   [r.domain for r in rows], [r.quality_score for r in rows])


@dataclass(frozen=True)
class IndexFilters:
    function_names: tuple[str, ...] = ()  # any of these; empty means any function
    domain: str | None = None
    min_quality: float | None = None


@dataclass(frozen=True)
class VectorHit:
    id: str
    score: float  # cosine similarity, higher is closer


class ExampleVectorIndex(ABC):
    dimension: int

    def upsert(self, rows: Sequence[IndexedVector]) -> None:
        """Adds rows; an id already present is replaced."""
        self.upsert_batch(IndexedVectors.of(rows))

    @abstractmethod
    def upsert_batch(self, batch: IndexedVectors) -> None:
        """As `upsert`, the rows given column by column."""

    @abstractmethod
    def delete(self, ids: Sequence[str]) -> None:
        """Removes ids; ids not present are ignored."""

    @abstractmethod
    def search(self, vector: np.ndarray, k: int, filters: IndexFilters, min_score: float) -> list[VectorHit]:
        """The k rows closest to `vector` that pass the filters and score at least `min_score`, best first."""


def checked_vector(vector: np.ndarray, dimension: int) -> list[float]:
    values = np.asarray(vector, dtype=np.float32).reshape(-1)
    if values.shape[0] != dimension:
        raise VectorIndexError(f"Expected a vector of length {dimension}, got {values.shape[0]}.")
    return values.tolist()


def checked_matrix(vectors: Any, dimension: int) -> np.ndarray:
    """The vectors as one float32 matrix (no copy when they are one already); a vector of the
    wrong length is named as checked_vector names it."""
    try:
        matrix = np.asarray(vectors, dtype=np.float32)
    except ValueError:
        matrix = None  # ragged: some vector has another length
    if matrix is None or matrix.ndim != 2 or matrix.shape[1] != dimension:
        return np.asarray([checked_vector(v, dimension) for v in vectors], dtype=np.float32)
    return matrix
