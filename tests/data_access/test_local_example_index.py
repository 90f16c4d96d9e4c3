"""The local example index: the example table's vectors, searched through an in-memory mirror.

The example store writes each row to its table and to the index; these tests do both the same
way, with a table of the example store's columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_access.sql.duckdb_engine import DuckDbEngine, release_home
from data_access.vector_search.index import IndexedVector, IndexFilters, VectorIndexError
from data_access.vector_search.local_index import RETIRED_COPY, LocalExampleIndex

TABLE = "vectors.ex.examples"
DIMENSION = 8
FILTERS = (
    IndexFilters(),
    IndexFilters(function_names=("f1", "f2")),
    IndexFilters(domain="d0"),
    IndexFilters(min_quality=0.5),
    IndexFilters(("f0",), "d1", 0.2),
)


def _rows(count: int, seed: int = 3) -> list[IndexedVector]:
    rng = np.random.default_rng(seed)
    return [
        IndexedVector(f"e{i}", rng.standard_normal(DIMENSION).astype(np.float32), f"f{i % 3}", f"d{i % 2}",
                      None if i % 5 == 0 else (i % 10) / 10)
        for i in range(count)
    ]


def _engine(home: Path) -> DuckDbEngine:
    engine = DuckDbEngine(home)
    engine.ensure_catalog("vectors")
    engine.execute("CREATE SCHEMA IF NOT EXISTS vectors.ex")
    engine.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (example_id STRING, function_name STRING, domain STRING, "
                   "quality_score DOUBLE, embedding ARRAY<FLOAT>)")
    return engine


def _write(index: LocalExampleIndex, engine: DuckDbEngine, rows: list[IndexedVector]) -> None:
    """As the example store writes: the index, then the table."""
    index.upsert(rows)
    _delete(index, engine, [r.id for r in rows], from_index=False)
    engine.insert_rows(TABLE, pd.DataFrame({
        "example_id": [r.id for r in rows], "function_name": [r.function_name for r in rows], "domain": [r.domain for r in rows],
        "quality_score": [r.quality_score for r in rows], "embedding": [np.asarray(r.vector, dtype=np.float32).tolist() for r in rows],
    }))


def _delete(index: LocalExampleIndex, engine: DuckDbEngine, ids: list[str], from_index: bool = True) -> None:
    engine.raw(f"DELETE FROM {TABLE} WHERE list_contains(?::VARCHAR[], example_id)", [ids])
    if from_index:
        index.delete(ids)


def _same(first: list, second: list) -> None:
    assert [h.id for h in first] == [h.id for h in second]
    assert [h.score for h in first] == pytest.approx([h.score for h in second], abs=1e-5)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    yield tmp_path / "store"
    release_home(tmp_path / "store")


@pytest.mark.parametrize("filters", FILTERS)
def test_the_in_memory_search_answers_as_duckdb_does_over_the_table(home: Path, filters: IndexFilters) -> None:
    engine = _engine(home)
    index = LocalExampleIndex(engine, TABLE, DIMENSION)
    _write(index, engine, _rows(200))
    _delete(index, engine, ["e1", "e2"])
    _write(index, engine, _rows(5, seed=9)[:1])  # e0 replaced by another vector
    query = np.random.default_rng(11).standard_normal(DIMENSION)

    _same(index.search(query, 7, filters, -1.0), index.sql_search(query, 7, filters, -1.0))
    _same(index.search(query, 7, filters, 0.3), index.sql_search(query, 7, filters, 0.3))


def test_another_process_opening_the_store_finds_the_same_examples(home: Path) -> None:
    engine = _engine(home)
    index = LocalExampleIndex(engine, TABLE, DIMENSION)
    _write(index, engine, _rows(50))
    _delete(index, engine, ["e7"])
    query = np.ones(DIMENSION)
    before = index.search(query, 10, IndexFilters(), -1.0)
    release_home(home)  # as a new process would, the index loads from the table

    reopened = LocalExampleIndex(_engine(home), TABLE, DIMENSION)

    _same(reopened.search(query, 10, IndexFilters(), -1.0), before)
    assert reopened.count() == 49 and "e7" not in {h.id for h in reopened.search(query, 50, IndexFilters(), -1.0)}


def test_rows_of_another_model_s_dimension_are_not_loaded(home: Path) -> None:
    engine = _engine(home)
    _write(LocalExampleIndex(engine, TABLE, DIMENSION), engine, [IndexedVector("ours", np.ones(DIMENSION))])
    _write(LocalExampleIndex(engine, TABLE, 3), engine, [IndexedVector("theirs", np.ones(3))])
    release_home(home)

    reopened = LocalExampleIndex(_engine(home), TABLE, DIMENSION)

    assert reopened.count() == 1
    assert [h.id for h in reopened.search(np.ones(DIMENSION), 5, IndexFilters(), -1.0)] == ["ours"]


def test_the_earlier_versions_second_copy_of_the_vectors_is_dropped(home: Path) -> None:
    engine = _engine(home)
    retired = f"vectors.ex.{RETIRED_COPY}_{DIMENSION}"
    engine.raw(f"CREATE TABLE {retired} (id VARCHAR PRIMARY KEY, embedding FLOAT[{DIMENSION}])")

    LocalExampleIndex(engine, TABLE, DIMENSION)

    assert engine.raw("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'vectors' AND table_name = ?",
                      [f"{RETIRED_COPY}_{DIMENSION}"]) == [(0,)]


def test_unrated_examples_are_left_out_by_a_minimum_quality(home: Path) -> None:
    engine = _engine(home)
    index = LocalExampleIndex(engine, TABLE, DIMENSION)
    _write(index, engine, [IndexedVector("unrated", np.ones(DIMENSION)), IndexedVector("rated", np.ones(DIMENSION), quality_score=0.9)])

    assert [h.id for h in index.search(np.ones(DIMENSION), 5, IndexFilters(min_quality=0.1), -1.0)] == ["rated"]


def test_a_vector_of_another_size_is_refused(home: Path) -> None:
    index = LocalExampleIndex(_engine(home), TABLE, DIMENSION)
    with pytest.raises(VectorIndexError, match=f"length {DIMENSION}"):
        index.upsert([IndexedVector("x", np.ones(3))])
    assert index.count() == 0


def test_a_filtered_search_repeated_after_writes_sees_them_and_an_unknown_name_matches_nothing(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    try:
        index = LocalExampleIndex(engine, TABLE, DIMENSION)
        rows = _rows(20)
        _write(index, engine, rows)
        in_d0 = IndexFilters(domain="d0")
        query = rows[3].vector
        before = index.search(query, 50, in_d0, -1.0)
        _write(index, engine, [IndexedVector("new", query, "f9", "d0", 0.9)])
        after = index.search(query, 50, in_d0, -1.0)
        assert after[0].id == "new" and len(after) == len(before) + 1
        _delete(index, engine, ["new", before[0].id])
        assert {h.id for h in index.search(query, 50, in_d0, -1.0)} == {h.id for h in before[1:]}
        _same(index.search(query, 50, in_d0, -1.0), index.sql_search(query, 50, in_d0, -1.0))
        assert index.search(query, 5, IndexFilters(domain="nowhere"), -1.0) == []
        assert index.search(query, 5, IndexFilters(function_names=("nothing",)), -1.0) == []
    finally:
        release_home(tmp_path)
