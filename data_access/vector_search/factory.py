"""Chooses the example index for a backend: Vector Search on Databricks, DuckDB locally."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from data_access.backends import Backend
from data_access.sql.duckdb_engine import DuckDbEngine
from data_access.vector_search.index import ExampleVectorIndex, VectorIndexError

# The local index searches the example table's own vectors.
EXAMPLES_TABLE = "example_store"


def open_example_index(backend: Backend, dimension: int, client_factory: Callable[[], Any] | None = None) -> ExampleVectorIndex:
    if backend.settings.is_databricks:
        from data_access.databricks_client import workspace_client
        from data_access.vector_search.databricks_index import DatabricksExampleIndex

        return DatabricksExampleIndex(client_factory or (lambda: workspace_client(backend.user)), backend.settings.example_index, dimension)
    # Duck-typed: a wrapper of the embedded engine (tests record statements) serves too.
    if not isinstance(backend.engine, DuckDbEngine) and not hasattr(backend.engine, "raw"):
        raise VectorIndexError("The local example index needs the embedded DuckDB store.")
    from data_access.vector_search.local_index import LocalExampleIndex

    return LocalExampleIndex(backend.engine,  # type: ignore[arg-type]
                             backend.settings.table(EXAMPLES_TABLE), dimension)
