"""Near-duplicate groups among unit vectors: pairs at or above a cosine similarity, joined into
connected components, without comparing every vector with every other.

All pairs of 100,000 vectors is 5·10⁹ dot products: minutes on a laptop. Instead, random
hyperplanes (SimHash) hash each vector into bands of bits; vectors that share a band's bits are
candidates, and every candidate is checked exactly, so a reported pair is always at or above the
threshold. Vectors are hashed as deviations from the set's mean: where the set's vectors are
unrelated (mean near zero) a pair at cosine 0.95 becomes a candidate with probability ≈ 0.99
(`recall_at`), a closer pair more often; where all look alike (one template), a pair is found
when it is close relative to how alike the set is. Identical texts share every band: always found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Bits per band and bands: at cosine 0.95 a hyperplane separates two vectors with probability
# 18.2°/180° ≈ 0.10, so a pair shares all 16 bits of a band with probability 0.90¹⁶ ≈ 0.18 and
# at least one of 24 bands with probability 1 - 0.82²⁴ ≈ 0.99. Unrelated vectors (cosine ≈ 0)
# share a band one time in 65,536: few candidates to check.
BAND_BITS = 16
BANDS = 24
# Inside one band's bucket, a vector is checked against the next WINDOW vectors ordered by a
# random projection: every pair of a bucket up to WINDOW + 1 vectors, and the closest neighbours
# in larger ones (templated texts that all look alike), so the work stays bounded by n·WINDOW.
WINDOW = 10
# Candidates checked exactly per step: (chunk × dimension) floats gathered at a time.
CHECK_CHUNK = 200_000
SEED = 20_261_202  # fixed: the same vectors always give the same groups


def recall_at(similarity: float, bits: int = BAND_BITS, bands: int = BANDS) -> float:
    """The chance a pair at `similarity` becomes a candidate in at least one band."""
    agree = 1.0 - float(np.arccos(np.clip(similarity, -1.0, 1.0))) / np.pi
    return 1.0 - (1.0 - agree**bits) ** bands


@dataclass(frozen=True)
class DuplicateEdges:
    first: np.ndarray  # row indices, first < second
    second: np.ndarray
    similarity: np.ndarray

    def __len__(self) -> int:
        return int(self.first.size)


def similar_pairs(vectors: np.ndarray, threshold: float) -> DuplicateEdges:
    """Every candidate pair whose cosine similarity is ≥ `threshold` (rows are unit vectors)."""
    n, dimension = vectors.shape
    empty = np.zeros(0, dtype=np.int64)
    if n < 2:
        return DuplicateEdges(empty, empty, np.zeros(0, dtype=np.float32))
    rng = np.random.default_rng(SEED)
    planes = rng.standard_normal((dimension, BAND_BITS * BANDS)).astype(np.float32)
    # Hashed as deviations from the set's mean: texts made from one template share most of their
    # vector, which would put them all in one bucket; what tells them apart is what differs.
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    bits = (centred @ planes) > 0
    weights = (1 << np.arange(BAND_BITS, dtype=np.int64))
    order_key = centred @ rng.standard_normal(dimension).astype(np.float32)
    codes: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for band in range(BANDS):
        keys = bits[:, band * BAND_BITS : (band + 1) * BAND_BITS].astype(np.int64) @ weights
        order = np.lexsort((order_key, keys))
        sorted_keys = keys[order]
        for offset in range(1, min(WINDOW, n - 1) + 1):
            same = np.nonzero(sorted_keys[:-offset] == sorted_keys[offset:])[0]
            if same.size == 0:
                break  # no bucket holds offset + 1 vectors: none holds more
            for start in range(0, same.size, CHECK_CHUNK):
                a, b = order[same[start : start + CHECK_CHUNK]], order[same[start : start + CHECK_CHUNK] + offset]
                similarity = np.einsum("ij,ij->i", vectors[a], vectors[b])
                close = similarity >= threshold
                a, b = a[close], b[close]
                codes.append(np.minimum(a, b) * n + np.maximum(a, b))
                scores.append(similarity[close])
    if not codes:
        return DuplicateEdges(empty, empty, np.zeros(0, dtype=np.float32))
    unique, first_seen = np.unique(np.concatenate(codes), return_index=True)
    return DuplicateEdges(unique // n, unique % n, np.concatenate(scores)[first_seen].astype(np.float32))


def groups_of(n: int, edges: DuplicateEdges) -> np.ndarray:
    """Each row's group number (connected components over the edges); a row with no edge is
    alone in its group."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges.first, edges.second)), shape=(n, n))
    return connected_components(graph, directed=False)[1]
