"""Sentence embeddings and a small in-process vector index.

`open_embedder` picks the backend: a Databricks embedding endpoint, the bundled MiniLM model
run on ONNX Runtime, or (when the model cannot load) a lexical fallback that says why.
"""

from data_access.embeddings.embedder import Embedder, EmbeddingError, EmbeddingModelUnavailable
from data_access.embeddings.factory import open_embedder
from data_access.embeddings.vector_index import VectorIndex

__all__ = ["Embedder", "EmbeddingError", "EmbeddingModelUnavailable", "VectorIndex", "open_embedder"]
