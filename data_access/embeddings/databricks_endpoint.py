"""Embeddings from a Databricks Model Serving embedding endpoint (e.g. databricks-gte-large-en)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from data_access.embeddings.embedder import Embedder, EmbeddingError

# Texts per request: what LangChain's Databricks/MLflow embedding clients send, and within
# what Foundation Model API embedding endpoints accept in one call.
ENDPOINT_BATCH_SIZE = 20
# Sent once, to learn the vector size when the caller does not know it.
_DIMENSION_PROBE = "dimension probe"


def _app_workspace_client() -> Any:
    """Embeddings are not governed data, so the app's own identity queries the endpoint."""
    from databricks.sdk import WorkspaceClient  # costs ~2 s, so only when first needed

    from data_access.databricks_client import app_config

    return WorkspaceClient(config=app_config())


class DatabricksEndpointEmbedder(Embedder):
    """`client_factory` returns a `databricks.sdk.WorkspaceClient`; it is called once, on first use."""

    is_semantic = True

    def __init__(
        self,
        endpoint_name: str,
        client_factory: Callable[[], Any] | None = None,
        *,
        dimension: int | None = None,
        batch_size: int = ENDPOINT_BATCH_SIZE,
    ) -> None:
        if not endpoint_name.strip():
            raise ValueError("An embedding endpoint name is required.")
        if batch_size < 1:
            raise ValueError("batch_size must be positive.")
        self.endpoint_name = endpoint_name.strip()
        self.name = f"Databricks endpoint {self.endpoint_name}"
        self.batch_size = batch_size
        self._client_factory = client_factory or _app_workspace_client
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._dimension = dimension

    @property
    def dimension(self) -> int:  # type: ignore[override]
        if self._dimension is None:
            self._dimension = int(self._embed_texts([_DIMENSION_PROBE]).shape[1])
        return self._dimension

    def _workspace(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(self._query(texts[start : start + self.batch_size]))
        width = len(rows[0])
        if width == 0 or any(len(row) != width for row in rows) or (self._dimension not in (None, width)):
            raise EmbeddingError(f"The embedding endpoint {self.endpoint_name} returned vectors of inconsistent size.")
        self._dimension = width
        return np.asarray(rows, dtype=np.float32)

    def _query(self, batch: list[str]) -> list[list[float]]:
        from databricks.sdk.errors import DatabricksError

        try:
            response = self._workspace().serving_endpoints.query(name=self.endpoint_name, input=batch)
        except DatabricksError as error:
            raise EmbeddingError(f"The embedding endpoint {self.endpoint_name} refused the request: {error}") from error
        data = response.data or []
        if len(data) != len(batch) or any(element.embedding is None for element in data):
            raise EmbeddingError(
                f"The embedding endpoint {self.endpoint_name} answered {len(data)} embeddings for {len(batch)} texts;"
                " is it an embedding endpoint?"
            )
        # The OpenAI-style response carries each vector's input position; trust it over list order.
        ordered = sorted(enumerate(data), key=lambda pair: pair[1].index if pair[1].index is not None else pair[0])
        return [list(element.embedding) for _, element in ordered]
