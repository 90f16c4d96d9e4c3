"""The vector-index seam: examples' vectors and filter columns in, nearest ids with scores out.

An index only ranks by meaning and applies the filters it was given; it knows nothing about
governance. The example store's retrieval gates what an index returns (DESIGN invariant 10).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

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

    @abstractmethod
    def upsert(self, rows: Sequence[IndexedVector]) -> None:
        """Adds rows; an id already present is replaced."""

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
