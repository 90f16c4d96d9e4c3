"""The one call the workbench API (and agents) make: examples nearest a query, gated now."""

from __future__ import annotations

from services.core.workbench import Workbench
from services.example_store.examples import NO_FILTERS, ExampleStore
from services.example_store.records import ExampleFilters, SearchHit


def search(wb: Workbench, query: str, k: int = 5, min_score: float = 0.0, filters: ExampleFilters = NO_FILTERS) -> list[SearchHit]:
    """Top-k examples by meaning with their cosine scores, best first; see ExampleStore.search."""
    return ExampleStore(wb).search(query, k, min_score, filters)
