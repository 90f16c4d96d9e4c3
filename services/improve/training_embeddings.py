"""The prompts a model version trained on, embedded once per version and embedding model and kept
in `training_pair_embeddings`; read back as one matrix per process, so finding the training pairs
like a request is a search of vectors in memory (services/improve/pair_vectors.py), not a
re-embedding of the training set."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from data_access.embeddings.embedder import Embedder
from services.core.workbench import Workbench
from services.improve.pair_vectors import PairVectors
from services.monitor.drift import pair_prompt

# Prompts embedded per call and written per insert: a batch that fails loses only itself, and a
# later trace carries on from the pairs already stored.
EMBED_BATCH = 64
# Versions whose vectors a process holds: 100,000 training prompts × 384 floats are 150 MB.
VERSIONS_KEPT = 2


_kept: OrderedDict[tuple[str, str, str], PairVectors] = OrderedDict()
_kept_lock = threading.Lock()
_loading_lock = threading.Lock()


class TrainingEmbeddings:
    def __init__(self, workbench: Workbench, embedder: Embedder) -> None:
        self._engine = workbench.backend.engine
        self._embedder = embedder
        self._table = workbench.table("training_pair_embeddings")
        self._pairs = workbench.table("qa_pairs")
        self._lineage = workbench.table("model_training_lineage")

    def vectors(self, lineage_id: str) -> PairVectors:
        """The version's training prompts as vectors, embedding those not stored yet first."""
        key = (self._table, lineage_id, self._embedder.name)
        with _kept_lock:
            if key in _kept:
                _kept.move_to_end(key)
                return _kept[key]
        # One version loads at a time: two first lookups of a new version would embed its prompts twice.
        with _loading_lock:
            with _kept_lock:
                if key in _kept:
                    return _kept[key]
            self.embed_missing(lineage_id)
            vectors = self._read(lineage_id)
            with _kept_lock:
                _kept[key] = vectors
                while len(_kept) > VERSIONS_KEPT:
                    _kept.popitem(last=False)
        return vectors

    def embed_missing(self, lineage_id: str) -> int:
        """Embeds and stores the prompts of the version's training pairs that have no vector for this
        embedding model yet; returns how many. A pair without a user prompt is stored without a vector,
        so it is not asked again."""
        params = {"lineage_id": lineage_id, "model": self._embedder.name}
        # Read in full before writing: DuckDB cannot insert while a result of the same connection is open.
        missing = self._engine.query(
            f"SELECT q.id, q.messages FROM {self._pairs} q "
            f"WHERE q.id IN (SELECT explode(train_pair_ids) FROM {self._lineage} WHERE id = :lineage_id) "
            f"AND NOT EXISTS (SELECT 1 FROM {self._table} e WHERE e.lineage_id = :lineage_id "
            "AND e.embedding_model = :model AND e.qa_pair_id = q.id) ORDER BY q.id",
            params,
        )
        for start in range(0, len(missing), EMBED_BATCH):
            rows = missing[start : start + EMBED_BATCH]
            prompts = [pair_prompt(r["messages"]) for r in rows]
            with_text = [i for i, p in enumerate(prompts) if p]
            vectors = self._embedder.embed([prompts[i] for i in with_text])
            embedding: list[list[float] | None] = [None] * len(rows)
            for position, i in enumerate(with_text):
                embedding[i] = vectors[position].tolist()
            self._engine.insert_rows(self._table, pd.DataFrame({
                "lineage_id": lineage_id, "qa_pair_id": [r["id"] for r in rows], "embedding_model": self._embedder.name,
                "embedding": embedding, "created_at": datetime.now(UTC),
            }))
        return len(missing)

    def _read(self, lineage_id: str) -> PairVectors:
        ids: list[str] = []
        blocks: list[np.ndarray] = []
        for batch in self._engine.stream_arrow(
            f"SELECT qa_pair_id, embedding FROM {self._table} WHERE lineage_id = :lineage_id AND embedding_model = :model "
            "AND embedding IS NOT NULL ORDER BY qa_pair_id",
            {"lineage_id": lineage_id, "model": self._embedder.name},
        ):
            if batch.num_rows == 0:
                continue
            ids += batch.column(0).to_pylist()
            flat = batch.column(1).flatten().to_numpy(zero_copy_only=False)
            blocks.append(np.asarray(flat, dtype=np.float32).reshape(batch.num_rows, -1))
        matrix = np.vstack(blocks) if blocks else np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return PairVectors.build(ids, matrix)
