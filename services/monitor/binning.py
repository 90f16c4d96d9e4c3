"""Numbers binned the same way on both sides of a comparison, in SQL: the edges are the training
values' deciles, so each bin holds about a tenth of the training set and PSI weighs every part
of its range alike. `values_sql` is a query with one column `v` (built from constants)."""

from __future__ import annotations

import itertools
from typing import Any

from data_access.sql.engine import SqlEngine

DECILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def decile_edges(engine: SqlEngine, values_sql: str, params: dict[str, Any]) -> list[float]:
    """The distinct deciles of the values (ties collapse, so a constant has no edges)."""
    quantiles = ", ".join(str(q) for q in DECILES)
    row = engine.query_one(f"SELECT percentile_approx(v, array({quantiles})) AS edges FROM ({values_sql}) b WHERE v IS NOT NULL", params)
    edges = row["edges"] if row else None
    return sorted({float(e) for e in edges}) if edges else []


def bin_counts(engine: SqlEngine, values_sql: str, params: dict[str, Any], edges: list[float]) -> list[int]:
    """How many values fall in each of len(edges) + 1 bins (v ≤ edge 0, …, v > the last edge)."""
    cases = " ".join(f"WHEN v <= :edge_{i} THEN {i}" for i in range(len(edges)))
    bin_sql = f"CASE {cases} ELSE {len(edges)} END" if edges else "0"
    rows = engine.query(
        f"SELECT {bin_sql} AS bin, count(*) AS n FROM ({values_sql}) b WHERE v IS NOT NULL GROUP BY 1",
        {**params, **{f"edge_{i}": edge for i, edge in enumerate(edges)}},
    )
    counts = [0] * (len(edges) + 1)
    for row in rows:
        counts[int(row["bin"])] = int(row["n"])
    return counts


def bin_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all values"]
    return [f"≤ {edges[0]:,.4g}", *(f"{low:,.4g} – {high:,.4g}" for low, high in itertools.pairwise(edges)), f"> {edges[-1]:,.4g}"]
