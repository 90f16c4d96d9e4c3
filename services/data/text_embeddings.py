"""Embeddings stored once per text and model (`text_embeddings`), and reused: a sheet's items,
pairs' prompts, by duplicates, quality and retrieval alike. Only texts never embedded by this
model reach the embedder; the rest are read back."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from data_access.embeddings import Embedder, open_embedder
from data_access.sql.conflicts import retried_on_conflict
from data_access.sql.engine import SqlError, WriteConflictError
from services.core.workbench import Workbench

log = logging.getLogger(__name__)

# Texts per lookup and per embedding call: a parameter array of this many 64-character hashes
# stays well under a warehouse's statement size; an embedding endpoint takes batches this large.
EMBED_BATCH = 5_000


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TextEmbeddings:
    def __init__(self, workbench: Workbench, embedder: Embedder | None = None) -> None:
        self._engine = workbench.backend.engine
        self._table = workbench.table("text_embeddings")
        self._embedder = embedder or open_embedder(workbench.settings)

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @property
    def model(self) -> str:
        return self._embedder.name

    @property
    def is_semantic(self) -> bool:
        return self._embedder.is_semantic

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) unit vectors in input order; each distinct text embedded at
        most once per model, ever."""
        hashes = [text_hash(t) for t in texts]
        unique = dict(zip(hashes, texts, strict=True))
        found = self._stored(list(unique))
        missing = [h for h in unique if h not in found]
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start : start + EMBED_BATCH]
            embedded = self._embedder.embed([unique[h] for h in batch])
            self._store(batch, embedded)
            found.update(zip(batch, embedded, strict=True))
        if not hashes:
            return np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return np.stack([found[h] for h in hashes]).astype(np.float32, copy=False)

    def kept(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors this model already has stored for these texts, by text; embeds nothing."""
        if not texts or not self._any_stored():
            return {}
        by_hash = {text_hash(t): t for t in texts}
        return {by_hash[h]: vector for h, vector in self._stored(list(by_hash)).items()}

    def _any_stored(self) -> bool:
        """Whether this model has any text stored: a model that never embedded here (a first
        sync's) is not looked up 100,000 hashes at a time."""
        return self._engine.query_one(f"SELECT 1 AS one FROM {self._table} WHERE model = :model LIMIT 1", {"model": self.model}) is not None

    def _stored(self, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), EMBED_BATCH):
            batches = self._engine.stream_arrow(
                f"SELECT e.text_hash, e.vector FROM {self._table} AS e JOIN (SELECT explode(:hashes) AS h) AS q "
                "ON q.h = e.text_hash WHERE e.model = :model",
                {"hashes": hashes[start : start + EMBED_BATCH], "model": self.model},
            )
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                matrix = batch.column(1).flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(batch.num_rows, -1)
                found.update(zip(batch.column(0).to_pylist(), matrix, strict=True))
        return found

    def as_embedder(self) -> Embedder:
        """These stored embeddings behind the Embedder seam, for code that takes an Embedder (the
        offline drafter's feature space): what it embeds is kept, and never embedded again."""
        return _StoredEmbedder(self)

    def _store(self, hashes: list[str], vectors: np.ndarray) -> None:
        # A cache that cannot be written costs the next caller an embedding, not this one its answer.
        try:
            self._store_missing(hashes, vectors)
        except SqlError as error:
            log.warning("Embeddings of %s were not stored: %s", self.model, error)

    def _store_missing(self, hashes: list[str], vectors: np.ndarray) -> None:
        # Another writer may be storing some of these texts too. The table is a cache of what a
        # deterministic model gives, so their rows equal ours: once theirs are in, add the rest.
        try:
            self._insert(hashes, vectors)
        except WriteConflictError:
            with contextlib.suppress(WriteConflictError):  # still conflicting: the next call stores what is left
                retried_on_conflict(lambda: self._insert_unstored(hashes, vectors))

    def _insert_unstored(self, hashes: list[str], vectors: np.ndarray) -> None:
        stored = self._stored(hashes)
        rest = [i for i, h in enumerate(hashes) if h not in stored]
        if rest:
            self._insert([hashes[i] for i in rest], vectors[rest])

    def _insert(self, hashes: list[str], vectors: np.ndarray) -> None:
        self._engine.insert_rows(
            self._table,
            pd.DataFrame(
                {
                    "text_hash": hashes,
                    "model": self.model,
                    "vector": [v.astype(np.float32).tolist() for v in vectors],
                    "created_at": pd.Timestamp(datetime.now(UTC)),
                }
            ),
        )


class _StoredEmbedder(Embedder):
    def __init__(self, embeddings: TextEmbeddings) -> None:
        inner = embeddings.embedder
        self._embeddings = embeddings
        self.name, self.dimension, self.is_semantic, self.fallback_reason = inner.name, inner.dimension, inner.is_semantic, inner.fallback_reason

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        return self._embeddings.vectors(texts)
