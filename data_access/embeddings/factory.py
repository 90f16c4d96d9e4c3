"""Chooses the embedder for this process: endpoint on Databricks, local model, or lexical."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from data_access.embeddings.databricks_endpoint import DatabricksEndpointEmbedder
from data_access.embeddings.embedder import Embedder, EmbeddingModelUnavailable
from data_access.embeddings.lexical import LexicalEmbedder
from data_access.embeddings.minilm_onnx import MiniLmOnnxEmbedder, bundled_model_dir
from data_access.settings import Settings

log = logging.getLogger(__name__)



def open_embedder(
    settings: Settings,
    cache_dir: Path | None = None,
    client_factory: Callable[[], Any] | None = None,
    *,
    embedding_endpoint: str | None = None,
    model_dir: Path | None = None,
) -> Embedder:
    """The Databricks endpoint when on Databricks with one configured (argument, else
    `settings.embedding_endpoint`); otherwise the bundled MiniLM model, built once into
    `cache_dir` (default `settings.model_cache`, shared by every store); if that cannot load,
    the lexical fallback with `fallback_reason` saying why."""
    endpoint = (
        embedding_endpoint if embedding_endpoint is not None else settings.embedding_endpoint
    ).strip()
    if settings.is_databricks and endpoint:
        return DatabricksEndpointEmbedder(endpoint, client_factory)
    try:
        with _local_model_lock:
            return _local_model(
                (model_dir or bundled_model_dir()).resolve(), (cache_dir or settings.model_cache).resolve()
            )
    except EmbeddingModelUnavailable as error:
        log.warning("Falling back to lexical embeddings: %s", error)
        return LexicalEmbedder(fallback_reason=str(error))


# Loading takes a moment and the session is thread-safe, so one per model and cache folder
# serves every user of the process; the lock stops two first users building the graph twice.
# Failures are not cached: fixing the install needs no restart.
_local_model_lock = threading.Lock()


@lru_cache(maxsize=4)
def _local_model(model_dir: Path, cache_dir: Path) -> MiniLmOnnxEmbedder:
    return MiniLmOnnxEmbedder(model_dir, cache_dir)

