"""The embedding seam: text in, unit-length float32 vectors out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class EmbeddingError(RuntimeError):
    """Embedding failed (the endpoint refused, or answered with something unusable)."""


class EmbeddingModelUnavailable(EmbeddingError):
    """The local model cannot be loaded; the message says which file or package and why."""


class Embedder(ABC):
    """Turns texts into vectors whose dot product is their cosine similarity.

    `is_semantic` is False for the lexical fallback, so the UI can tell people that
    similarity there means shared words, not shared meaning. `fallback_reason` says why a
    fallback was chosen instead of the model.
    """

    name: str
    dimension: int
    is_semantic: bool
    fallback_reason: str | None = None

    @abstractmethod
    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        """Embeds a non-empty list of strings; rows need not be normalised yet."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Returns an (n, dimension) float32 array of L2-normalised rows, in input order."""
        # A bare string is a Sequence[str] too; embedding it letter by letter is never meant.
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; wrap a single text in a list.")
        batch = list(texts)
        for text in batch:
            if not isinstance(text, str):
                raise TypeError(f"embed() takes texts, got {type(text).__name__}.")
        if not batch:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return l2_normalised(self._embed_texts(batch))

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def l2_normalised(matrix: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Rows scaled to unit length; an all-zero row (nothing to go on) stays zero. With `out`
    (an array of the same shape, e.g. a slice of a larger matrix), written there."""
    rows = np.asarray(matrix, dtype=np.float32)
    # One pass for the norms and one multiply: np.linalg.norm squared into a temporary matrix and
    # the divide filled a zeroed one first, three times the memory traffic for 100,000 rows.
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return np.multiply(rows, scale[:, None], out=out)
