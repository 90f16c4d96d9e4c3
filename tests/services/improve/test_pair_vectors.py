"""Searching a version's prompt vectors: every vector scored up to the exact limit; above it, only
the groups nearest the request, which finds nearly every true neighbour of clustered vectors."""

from __future__ import annotations

import numpy as np

from services.improve.pair_vectors import PairVectors


def _clustered(n: int, centres: int = 40, dimension: int = 32) -> np.ndarray:
    """Unit vectors around a few centres, as prompts of a few kinds are."""
    rng = np.random.default_rng(3)
    means = rng.standard_normal((centres, dimension))
    vectors = means[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, dimension))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_below_the_exact_limit_every_vector_is_scored_best_first():
    matrix = _clustered(500)
    vectors = PairVectors.build([f"p{i}" for i in range(500)], matrix)
    assert vectors.centroids is None
    hits = vectors.nearest(matrix[7], 5)
    exact = np.argsort(-(matrix @ matrix[7]), kind="stable")[:5]
    assert [pair for pair, _ in hits] == [f"p{i}" for i in exact] and hits[0] == ("p7", hits[0][1])
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_above_the_limit_the_grouped_search_finds_nearly_every_true_neighbour():
    n = 6_000
    matrix = _clustered(n)
    ids = [f"p{i}" for i in range(n)]
    grouped = PairVectors.build(ids, matrix, exact_up_to=1_000)
    assert grouped.centroids is not None and sorted(grouped.pair_ids) == sorted(ids)
    queries = range(0, n, 60)
    found = sum(len({p for p, _ in grouped.nearest(matrix[q], 5)} & {ids[i] for i in np.argsort(-(matrix @ matrix[q]))[:5]})
                for q in queries)
    assert found / (5 * len(queries)) >= 0.9
    assert all(grouped.nearest(matrix[q], 1)[0][0] == ids[q] for q in queries)  # a stored prompt finds itself
