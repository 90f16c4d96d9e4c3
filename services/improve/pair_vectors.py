"""A model version's training prompts as unit vectors, searched for the ones most like a request.

Up to EXACT_UP_TO vectors every one is scored (one matrix product). Above that, scoring all of them
reads the whole matrix per lookup (100,000 × 384 floats are 150 MB: 30-60 ms on this busy 2-core
machine), so the vectors are grouped once, when a version's vectors are first read, around about
√n centroids (spherical k-means on a sample), and a lookup scores only the groups whose centroids
are nearest the request, PROBED_SHARE of them. That is approximate: a near pair in a group not
probed is missed (the test measures how often on clustered vectors)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EXACT_UP_TO = 20_000  # 30 MB of vectors: a few ms to score them all
PROBED_SHARE = 0.1  # of the groups, nearest centroids first
KMEANS_SAMPLE = 20_000  # vectors the centroids are fitted on
KMEANS_ROUNDS = 4
ASSIGN_CHUNK = 10_000  # rows scored against the centroids at once (10,000 × 316 scores: 12 MB)
_SEED = 11  # the same vectors always make the same groups


@dataclass(frozen=True)
class PairVectors:
    pair_ids: tuple[str, ...]  # row i of `matrix` belongs to pair_ids[i]
    matrix: np.ndarray
    centroids: np.ndarray | None = None  # when grouped: rows starts[g]:starts[g + 1] form group g
    starts: np.ndarray | None = None

    @classmethod
    def build(cls, pair_ids: Sequence[str], matrix: np.ndarray, exact_up_to: int = EXACT_UP_TO) -> PairVectors:
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        n = len(pair_ids)
        if n <= exact_up_to:
            return cls(tuple(pair_ids), matrix)
        centroids = _centroids(matrix, int(math.sqrt(n)))
        groups = _nearest_centroid(matrix, centroids)
        order = np.argsort(groups, kind="stable")
        starts = np.concatenate(([0], np.cumsum(np.bincount(groups, minlength=len(centroids)))))
        return cls(tuple(pair_ids[i] for i in order), matrix[order], centroids, starts)

    def nearest(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k pairs most like `query` (cosine: rows and query are unit length), best first."""
        if not self.pair_ids:
            return []
        vector = np.asarray(query, dtype=np.float32)
        if self.centroids is None or self.starts is None:
            rows, scores = np.arange(len(self.pair_ids)), self.matrix @ vector
        else:
            probed = max(1, math.ceil(len(self.centroids) * PROBED_SHARE))
            groups = np.argpartition(-(self.centroids @ vector), probed - 1)[:probed]
            spans = [(int(self.starts[g]), int(self.starts[g + 1])) for g in groups]
            rows = np.concatenate([np.arange(a, b) for a, b in spans])
            scores = np.concatenate([self.matrix[a:b] @ vector for a, b in spans])
        k = min(k, len(scores))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        best = top[np.lexsort((rows[top], -scores[top]))]
        return [(self.pair_ids[rows[i]], float(scores[i])) for i in best]


def _centroids(matrix: np.ndarray, count: int) -> np.ndarray:
    """Spherical k-means on a sample: centroids are unit vectors; an emptied group keeps its centroid."""
    rng = np.random.default_rng(_SEED)
    sample = matrix[rng.choice(len(matrix), min(len(matrix), KMEANS_SAMPLE), replace=False)]
    centroids = sample[rng.choice(len(sample), count, replace=False)].copy()
    for _ in range(KMEANS_ROUNDS):
        groups = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, groups, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = np.where(norms > 0, sums / np.maximum(norms, 1e-12), centroids).astype(np.float32)
    return centroids


def _nearest_centroid(matrix: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.concatenate([
        np.argmax(matrix[start : start + ASSIGN_CHUNK] @ centroids.T, axis=1) for start in range(0, len(matrix), ASSIGN_CHUNK)
    ])
