"""The Example Store service: author, edit, prune, sync from Training Sheets, search by meaning.

Every write goes to the `example_store` table and the vector index together, so an example is
searchable the moment it is saved. Retrieval asks the index for the nearest examples and then
gates them again, in one query, by the few-shot gate of their pair and the current tags of
their source (DESIGN invariant 10): an example synced yesterday from a pair rejected today is
never shown.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np

from data_access.embeddings.embedder import Embedder, EmbeddingError
from data_access.embeddings.factory import open_embedder
from data_access.vector_search.factory import open_example_index
from data_access.vector_search.index import ExampleVectorIndex, IndexedVectors, IndexFilters, VectorIndexError
from services.core.domain.governance import UsageConstraints, Use
from services.core.errors import NotFoundError, UnavailableError, ValidationError
from services.core.governance import why_not_usable
from services.core.workbench import Workbench
from services.data.text_embeddings import TextEmbeddings
from services.example_store.drafts import checked_draft, example_from_pair
from services.example_store.examples_store import ExamplesStore, to_example
from services.example_store.records import (
    Example,
    ExampleDraft,
    ExampleFilters,
    ExampleRows,
    ExampleSource,
    RemovedExample,
    SearchHit,
    SyncReport,
    TrainingSheetChoice,
    UploadReport,
)
from services.example_store.source_gate import blocked_sources
from services.example_store.uploads import read_examples

# Retrieval returns a handful of examples for one prompt; more would not fit beside the item.
MAX_K = 50
# Gated-out examples can crowd the nearest candidates: ask the index for this many times k,
# and widen (doubling) up to MAX_CANDIDATES when too few survive the gate.
OVERFETCH = 4
MAX_CANDIDATES = 2_000
BROWSE_LIMIT = 500
# Query embeddings kept per process (384 floats each: 1,024 of them are 1.5 MB).
QUERY_VECTORS_KEPT = 1024
NO_FILTERS = ExampleFilters()


_PAIR_NAMESPACE = hashlib.sha1(uuid.NAMESPACE_URL.bytes + b"example-store/qa-pair/")


def example_id_for_pair(pair_id: str) -> str:
    """The same pair always syncs to the same example, so a re-sync never duplicates.

    uuid5(NAMESPACE_URL, "example-store/qa-pair/<pair id>"), spelled out: the namespace's part
    of the hash is taken once and no UUID object is built (a third of the time, 100,000 at once)."""
    hashed = _PAIR_NAMESPACE.copy()
    hashed.update(pair_id.encode("utf-8"))
    digest = bytearray(hashed.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class ExampleStore:
    def __init__(self, wb: Workbench, embedder: Embedder | None = None, index: ExampleVectorIndex | None = None) -> None:
        self._wb = wb
        self._embedder = embedder or open_embedder(wb.settings)
        self._index = index or open_example_index(wb.backend, self._embedder.dimension)
        self._store = ExamplesStore(wb.backend.engine, wb.table("example_store"), wb.table("qa_pairs"), wb.table("training_sheets"))

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    # -- reading -------------------------------------------------------------------------
    def get(self, example_id: str) -> Example:
        example = self._store.get(example_id)
        if example is None:
            raise NotFoundError(f"Example {example_id} does not exist; it may have been pruned.")
        return example

    def browse(self, filters: ExampleFilters = NO_FILTERS, limit: int = BROWSE_LIMIT) -> list[Example]:
        return self._store.browse(filters, limit)

    def browse_ids(self, example_ids: Sequence[str]) -> list[Example]:
        """These examples (those that still exist), e.g. the one a link points at."""
        return [e for e in (self._store.get(i) for i in dict.fromkeys(example_ids)) if e is not None]

    def facets(self) -> tuple[list[str], list[str]]:
        return self._store.facets()

    def count(self) -> int:
        return self._store.count()

    def measured(self, limit: int = BROWSE_LIMIT) -> list[Example]:
        """Examples whose effectiveness was measured, worst first."""
        return self._store.measured(limit)

    def training_sheets(self) -> list[TrainingSheetChoice]:
        return [TrainingSheetChoice(r["id"], r["name"], r["label_type"] or "") for r in self._store.training_sheets()]

    def source(self, example: Example) -> ExampleSource | None:
        """The pair an example was synced from, as it is now; None for an authored example or a
        pair that no longer exists."""
        if not example.source_qa_pair_id:
            return None
        row = self._store.source_pair(example.source_qa_pair_id)
        if row is None:
            return None
        why = _why_not(row)
        return ExampleSource(row["id"], row["name"] or "", row["item_ref"], row["status"], tuple(row["media_refs"] or ()), not why, why)

    # -- writing -------------------------------------------------------------------------
    def add(self, draft: ExampleDraft) -> Example:
        return self.get(self.add_many([checked_draft(draft)])[0])

    def add_many(self, drafts: Sequence[ExampleDraft]) -> list[str]:
        """Inserts checked drafts in one statement (and one index upsert); returns their ids."""
        ids = [str(uuid.uuid4()) for _ in drafts]
        self._write(ExampleRows.of(ids, drafts))
        return ids

    def _write(self, rows: ExampleRows) -> None:
        if not rows.example_ids:
            return
        with _outside_world():
            vectors = self._vectors(rows.embedded_texts())
            # Index first: an id the index holds but the table does not is never returned
            # (retrieval reads the examples from the table), while a row the index lacked could not be found.
            self._index.upsert_batch(IndexedVectors(rows.example_ids, vectors, rows.function_names, rows.domains, rows.quality_scores))
        self._store.insert(rows, vectors, self._embedder.name, self._wb.user.email, datetime.now(UTC))

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Texts this model has embedded before for LABEL's signals or the drafter (a pair's prompt
        is a synced example's input) are read back; only the rest are embedded. None are written
        there: the example table keeps its own, and a third copy of 100,000 vectors made a first
        sync seconds slower."""
        known = TextEmbeddings(self._wb, self._embedder).kept(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if len(missing) == len(texts):  # none kept, none repeated (a first sync): the rows as embedded, not restacked
            return self._embedder.embed(texts)
        if missing:
            known.update(zip(missing, self._embedder.embed(missing), strict=True))
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)

    def upload(self, file_name: str, data: bytes) -> UploadReport:
        """Adds every good row of a CSV or JSONL file in one insert; the report lists the bad ones."""
        good, problems = read_examples(file_name, data)
        return UploadReport(tuple(self.add_many([draft for _, draft in good])), tuple(problems))

    def update(self, example_id: str, draft: ExampleDraft) -> Example:
        draft = checked_draft(draft)
        self.get(example_id)
        rows = ExampleRows.of([example_id], [draft])
        with _outside_world():
            vector = self._embedder.embed(rows.embedded_texts())
            self._index.upsert_batch(IndexedVectors(rows.example_ids, vector, rows.function_names, rows.domains, rows.quality_scores))
        if not self._store.update(example_id, _values(draft, vector[0].tolist(), self._embedder.name), datetime.now(UTC)):
            raise NotFoundError(f"Example {example_id} does not exist; it may have been pruned.")
        return self.get(example_id)

    def prune(self, example_ids: Sequence[str]) -> int:
        ids = list(dict.fromkeys(example_ids))
        removed = self._store.delete(ids)
        with _outside_world():
            self._index.delete(ids)
        return removed

    # -- sync ----------------------------------------------------------------------------
    def sync(self, training_sheet_id: str) -> SyncReport:
        """Makes the sheet's examples match its pairs that pass the few-shot gate now: adds the
        new ones, refreshes those whose answer changed, removes those whose pair lost the gate."""
        sheet = self._store.training_sheet(training_sheet_id)
        if sheet is None:
            raise NotFoundError(f"Training Sheet {training_sheet_id} does not exist.")
        synced = {r["source_qa_pair_id"]: r for r in self._store.synced(training_sheet_id)}
        blocked = blocked_sources(self._wb, [sheet["sheet_id"]]).get(sheet["sheet_id"], "")
        if blocked:
            removed = tuple(RemovedExample(r["example_id"], pair_id, blocked) for pair_id, r in sorted(synced.items()))
            self.prune([r.example_id for r in removed])
            return SyncReport(training_sheet_id, removed=removed, blocked_reason=blocked)
        lost = tuple(
            RemovedExample(r["example_id"], r["source_qa_pair_id"], _why_not(r) or "No longer usable as a few-shot example")
            for r in self._store.lost_gate(training_sheet_id)
        )
        self.prune([r.example_id for r in lost])
        fresh, changed = self._to_write(training_sheet_id, synced)
        # A changed pair's example is replaced whole: simpler than an UPDATE per row, and set-based.
        self._store.delete([example_id_for_pair(pair_id) for pair_id, *_ in changed])
        written = fresh + changed
        pair_ids, inputs, outputs, quality = (list(column) for column in zip(*written, strict=True)) if written else ([], [], [], [])
        ids, count = [example_id_for_pair(pair_id) for pair_id in pair_ids], len(written)
        self._write(ExampleRows(ids, inputs, outputs, [""] * count, [()] * count, [sheet["label_type"]] * count, [sheet["name"]] * count,
                                quality, list(pair_ids), training_sheet_id))
        return SyncReport(
            training_sheet_id, tuple(ids[:len(fresh)]), tuple(ids[len(fresh):]), len(synced) - len(lost) - len(changed), lost,
        )

    def _to_write(self, training_sheet_id: str, synced: dict[str, Any]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The gated pairs with no example yet, and those whose example no longer matches them:
        (pair id, input, expected output, quality) each."""
        fresh, changed = [], []
        for row in self._store.gated_pairs(training_sheet_id):
            example = example_from_pair(row["messages"], row["original_response"], row["quality_score"])
            if example is None:
                continue
            before = synced.get(row["id"])
            if before is None:
                fresh.append((row["id"], *example))
            elif (before["input"], before["expected_output"], before["quality_score"]) != example:
                changed.append((row["id"], *example))
        return fresh, changed

    # -- retrieval -----------------------------------------------------------------------
    def search(self, query: str, k: int = 5, min_score: float = 0.0, filters: ExampleFilters = NO_FILTERS,
               count_use: bool = True) -> list[SearchHit]:
        """The k examples nearest in meaning to `query` that pass the filters, score at least
        `min_score` and pass the few-shot gate now; each one's usage_count goes up by one unless
        `count_use` is off (measuring the examples is not using them)."""
        if not query.strip():
            raise ValidationError("Type what the example should be about.")
        if not 1 <= k <= MAX_K:
            raise ValidationError(f"Ask for between 1 and {MAX_K} examples.")
        with _outside_world():
            vector = _query_vector(self._embedder, query)
        index_filters = IndexFilters(filters.function_names, filters.domain, filters.min_quality)
        wanted = k * OVERFETCH
        while True:
            with _outside_world():
                candidates = self._index.search(vector, wanted, index_filters, min_score)
            hits = self._gated(candidates, filters)
            if len(hits) >= k or len(candidates) < wanted or wanted >= MAX_CANDIDATES:
                break
            wanted = min(MAX_CANDIDATES, wanted * 2)
        hits = hits[:k]
        if count_use:
            self._store.count_usage([h.example.example_id for h in hits])
        return hits

    def _gated(self, candidates: list[Any], filters: ExampleFilters) -> list[SearchHit]:
        rows = self._store.passing([c.id for c in candidates], filters)
        blocked = blocked_sources(self._wb, [r["source_sheet_id"] for r in rows if r["source_sheet_id"]])
        passing = {r["example_id"]: r for r in rows if r["source_sheet_id"] not in blocked}
        return [SearchHit(to_example(passing[c.id]), c.score) for c in candidates if c.id in passing]


@lru_cache(maxsize=QUERY_VECTORS_KEPT)
def _query_vector(embedder: Embedder, query: str) -> np.ndarray:
    """A query's embedding, kept: agents and generation ask the same prompts again, and embedding
    one costs more than the rest of a search (48 ms median on this machine, the index 60 ms)."""
    vector = embedder.embed_one(query)
    vector.setflags(write=False)
    return vector


@contextmanager
def _outside_world() -> Iterator[None]:
    """The embedding model or the vector index failing is a message for the page, not a crash."""
    try:
        yield
    except (EmbeddingError, VectorIndexError) as error:
        raise UnavailableError(f"The example index cannot answer now: {error}") from error


def _why_not(row: dict[str, Any]) -> str:
    if row["status"] is None:
        return "The pair no longer exists"
    constraints = UsageConstraints(tuple(row["allowed_uses"] or ()), tuple(row["prohibited_uses"] or ()), row["usage_reason"] or "")
    return why_not_usable(row["status"], constraints, Use.FEW_SHOT)


def _values(draft: ExampleDraft, vector: list[float], model: str) -> dict[str, Any]:
    return {
        "input": draft.input, "expected_output": draft.expected_output, "explanation": draft.explanation,
        "search_keys": list(draft.search_keys), "embedding": vector, "embedding_model": model,
        "function_name": draft.function_name, "domain": draft.domain, "quality_score": draft.quality_score,
    }
