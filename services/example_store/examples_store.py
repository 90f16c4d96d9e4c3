"""The `example_store` table, and the few-shot gate over the pairs examples came from.

The gate is services.core.governance.usable_for_sql, the one rule every consumer shares, bound
to `few_shot`. A pair that no longer exists fails it (the LEFT JOIN leaves its status NULL and
`coalesce(…, false)` reads that as not usable): governance fails closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from data_access.sql.arrow_columns import repeated, timestamps, vector_column
from data_access.sql.engine import Row, SqlEngine
from data_access.sql.key_lists import in_list, key_chunks
from services.core.domain.governance import Use
from services.core.governance import usable_for_sql
from services.example_store.records import Example, ExampleFilters, ExampleRows

COLUMNS = (
    "example_id", "input", "expected_output", "explanation", "search_keys", "embedding", "embedding_model",
    "function_name", "domain", "quality_score", "usage_count", "effectiveness_score", "source_qa_pair_id",
    "training_sheet_id", "created_by", "created_at", "updated_at",
)
# Every column but the vector: pages and retrieval never need 384 floats per row.
_READ = ", ".join(f"e.{c}" for c in COLUMNS if c != "embedding")
_GATE = f"coalesce({usable_for_sql('p', 'few_shot_use')}, false)"
_GATE_PARAMS = {"few_shot_use": Use.FEW_SHOT.value}
_FROM = "{examples} e LEFT JOIN {pairs} p ON p.id = e.source_qa_pair_id"
# Authored examples have no pair; an example from a pair is only as usable as its pair now is.
_PASSES = f"(e.source_qa_pair_id IS NULL OR {_GATE})"


def to_example(row: Row) -> Example:
    return Example(
        row["example_id"], row["input"] or "", row["expected_output"] or "", row["explanation"] or "",
        tuple(row["search_keys"] or ()), row["embedding_model"] or "", row["function_name"], row["domain"],
        row["quality_score"], int(row["usage_count"] or 0), row["effectiveness_score"], row["source_qa_pair_id"],
        row["training_sheet_id"], row["created_by"] or "", row["created_at"], row["updated_at"],
    )


def filter_sql(filters: ExampleFilters) -> tuple[str, dict[str, Any]]:
    clauses, params = ["TRUE"], {}
    if filters.function_names:
        clauses.append("array_contains(:function_names, e.function_name)")
        params["function_names"] = list(filters.function_names)
    if filters.domain:
        clauses.append("e.domain = :domain")
        params["domain"] = filters.domain
    if filters.min_quality is not None:
        clauses.append("e.quality_score >= :min_quality")
        params["min_quality"] = float(filters.min_quality)
    if filters.min_effectiveness is not None:
        clauses.append("e.effectiveness_score >= :min_effectiveness")
        params["min_effectiveness"] = float(filters.min_effectiveness)
    return " AND ".join(clauses), params


class ExamplesStore:
    def __init__(self, engine: SqlEngine, examples: str, pairs: str, training_sheets: str) -> None:
        self._engine = engine
        self._examples = examples
        self._pairs = pairs
        self._training_sheets = training_sheets
        self._from = _FROM.format(examples=examples, pairs=pairs)

    def insert_frame(self, frame: pd.DataFrame) -> int:
        return self._engine.insert_rows(self._examples, frame[[c for c in COLUMNS if c in frame.columns]])

    def insert(self, rows: ExampleRows, vectors: np.ndarray, model: str, user: str, at: datetime) -> int:
        """New examples in one insert, as one Arrow table: the vectors a list column over the
        matrix's buffer. A frame of 100,000 numpy rows took DuckDB 5.0 s; this 2.3-3.5 s, most
        of it the checkpoint compressing the floats (measured side by side, load 1-2)."""
        count = len(rows.example_ids)
        return self._engine.insert_rows(self._examples, pa.table({
            "example_id": pa.array(rows.example_ids, pa.string()), "input": pa.array(rows.inputs, pa.string()),
            "expected_output": pa.array(rows.expected_outputs, pa.string()),
            "explanation": pa.array(rows.explanations, pa.string()),
            "search_keys": pa.array(rows.search_keys, pa.list_(pa.string())),
            "embedding": vector_column(vectors), "embedding_model": repeated(model, count, pa.string()),
            "function_name": pa.array(rows.function_names, pa.string()), "domain": pa.array(rows.domains, pa.string()),
            "quality_score": pa.array(rows.quality_scores, pa.float64()), "usage_count": repeated(0, count, pa.int64()),
            "effectiveness_score": pa.nulls(count, pa.float64()),
            "source_qa_pair_id": pa.array(rows.source_qa_pair_ids, pa.string()),
            "training_sheet_id": repeated(rows.training_sheet_id, count, pa.string()),
            "created_by": repeated(user, count, pa.string()), "created_at": timestamps(at, count), "updated_at": timestamps(at, count),
        }))

    def get(self, example_id: str) -> Example | None:
        row = self._engine.query_one(f"SELECT {_READ} FROM {self._examples} e WHERE e.example_id = :id", {"id": example_id})
        return to_example(row) if row else None

    def browse(self, filters: ExampleFilters, limit: int) -> list[Example]:
        where, params = filter_sql(filters)
        rows = self._engine.query(
            f"SELECT {_READ} FROM {self._examples} e WHERE {where} ORDER BY e.updated_at DESC, e.example_id LIMIT :limit",
            {**params, "limit": limit},
        )
        return [to_example(r) for r in rows]

    def facets(self) -> tuple[list[str], list[str]]:
        """The domains and function names in use, for the filter choices."""
        rows = self._engine.query(
            f"SELECT DISTINCT domain, function_name FROM {self._examples} ORDER BY domain, function_name"
        )
        return sorted({r["domain"] for r in rows if r["domain"]}), sorted({r["function_name"] for r in rows if r["function_name"]})

    def count(self) -> int:
        return int(self._engine.scalar(f"SELECT count(*) FROM {self._examples}") or 0)

    def update(self, example_id: str, values: dict[str, Any], at: datetime) -> bool:
        changed = self._engine.execute(
            f"UPDATE {self._examples} SET input = :input, expected_output = :expected_output, explanation = :explanation, "
            "search_keys = :search_keys, embedding = :embedding, embedding_model = :embedding_model, "
            "function_name = :function_name, domain = :domain, quality_score = :quality_score, updated_at = :at "
            "WHERE example_id = :id",
            {**values, "id": example_id, "at": at},
        )
        return changed != 0

    def delete(self, ids: list[str]) -> int:
        if not ids:
            return 0
        return self._engine.execute(f"DELETE FROM {self._examples} WHERE array_contains(:ids, example_id)", {"ids": sorted(set(ids))})

    def training_sheet(self, training_sheet_id: str) -> Row | None:
        return self._engine.query_one(
            f"SELECT id, name, sheet_id, template_id, label_type FROM {self._training_sheets} WHERE id = :id", {"id": training_sheet_id}
        )

    def training_sheets(self) -> list[Row]:
        return self._engine.query(f"SELECT id, name, label_type FROM {self._training_sheets} ORDER BY created_at DESC, name")

    def source_pair(self, pair_id: str) -> Row | None:
        return self._engine.query_one(
            f"SELECT p.id, p.item_ref, p.status, p.media_refs, p.allowed_uses, p.prohibited_uses, p.usage_reason, t.name "
            f"FROM {self._pairs} p LEFT JOIN {self._training_sheets} t ON t.id = p.training_sheet_id WHERE p.id = :id",
            {"id": pair_id},
        )

    def gated_pairs(self, training_sheet_id: str) -> list[Row]:
        """The sheet's pairs that pass the few-shot gate now, with what an example is made of."""
        return self._engine.query(
            f"SELECT p.id, p.messages, p.original_response, p.quality_score FROM {self._pairs} p "
            f"WHERE p.training_sheet_id = :training_sheet_id AND {_GATE} ORDER BY p.ordinal",
            {"training_sheet_id": training_sheet_id, **_GATE_PARAMS},
        )

    def synced(self, training_sheet_id: str) -> list[Row]:
        return self._engine.query(
            f"SELECT example_id, source_qa_pair_id, input, expected_output, quality_score FROM {self._examples} "
            "WHERE training_sheet_id = :training_sheet_id AND source_qa_pair_id IS NOT NULL",
            {"training_sheet_id": training_sheet_id},
        )

    def lost_gate(self, training_sheet_id: str) -> list[Row]:
        """Examples of the sheet whose pair fails the gate now (rejected, constraints tightened, gone)."""
        return self._engine.query(
            f"SELECT e.example_id, e.source_qa_pair_id, p.status, p.allowed_uses, p.prohibited_uses, p.usage_reason "
            f"FROM {self._from} WHERE e.training_sheet_id = :training_sheet_id AND e.source_qa_pair_id IS NOT NULL "
            f"AND NOT {_GATE} ORDER BY e.example_id",
            {"training_sheet_id": training_sheet_id, **_GATE_PARAMS},
        )

    def passing(self, ids: list[str], filters: ExampleFilters) -> list[Row]:
        """Of `ids`, the examples that pass the filters and whose pair passes the gate now,
        with the source sheet so the caller can apply the source's current tags."""
        if not ids:
            return []
        # Read by primary key alone, filtered here: an IN list of one parameter per id is an index
        # lookup (DuckDB, 2.8 ms over 100,000 examples), which any other predicate beside it turns
        # into a scan of the table (15 ms), joining the pairs too (25 ms).
        rows = [
            r for chunk in key_chunks(ids) for r in self._engine.query(
                f"SELECT {_READ} FROM {self._examples} e WHERE e.example_id IN {in_list(chunk)}", chunk)
            if filters.admits(r["function_name"], r["domain"], r["quality_score"], r["effectiveness_score"])
        ]
        usable = self._usable_pairs([r["source_qa_pair_id"] for r in rows if r["source_qa_pair_id"]])
        # An authored example has no pair; one whose pair is gone or fails the gate is left out.
        return [{**r, "source_sheet_id": usable.get(r["source_qa_pair_id"])} for r in rows
                if r["source_qa_pair_id"] is None or r["source_qa_pair_id"] in usable]

    def _usable_pairs(self, pair_ids: list[str]) -> dict[str, str]:
        """Of these pairs, those that pass the few-shot gate now → their source sheet."""
        if not pair_ids:
            return {}
        return {
            r["id"]: r["sheet_id"] for chunk in key_chunks(sorted(set(pair_ids))) for r in self._engine.query(
                f"SELECT p.id, p.sheet_id FROM {self._pairs} p WHERE p.id IN {in_list(chunk)} AND {_GATE}", {**chunk, **_GATE_PARAMS})
        }

    def all_passing(self) -> list[Row]:
        """Every example whose pair passes the gate now, with its vector and source sheet (the
        edge bundle's snapshot; the caller applies the sources' current tags)."""
        return self._engine.query(
            f"SELECT {_READ}, e.embedding, p.sheet_id AS source_sheet_id FROM {self._from} WHERE {_PASSES} ORDER BY e.example_id",
            _GATE_PARAMS,
        )

    def evaluation_pairs(self, training_sheet_id: str, limit: int) -> list[Row]:
        """The sheet's pairs that pass the evaluation gate now (the same dual gate, bound to `evaluation`)."""
        return self._engine.query(
            f"SELECT p.id, p.item_ref, p.messages FROM {self._pairs} p WHERE p.training_sheet_id = :training_sheet_id "
            f"AND coalesce({usable_for_sql('p', 'evaluation_use')}, false) ORDER BY p.ordinal LIMIT :limit",
            {"training_sheet_id": training_sheet_id, "evaluation_use": Use.EVALUATION.value, "limit": limit},
        )

    def rate(self, effects: dict[str, float]) -> None:
        """Measured effectiveness onto the examples, in one statement."""
        if effects:
            ids = sorted(effects)
            self._engine.execute(
                f"MERGE INTO {self._examples} AS t USING (SELECT col AS example_id, element_at(:scores, pos + 1) AS score "
                "FROM (SELECT posexplode(:ids)) AS exploded) AS s ON t.example_id = s.example_id "
                "WHEN MATCHED THEN UPDATE SET effectiveness_score = s.score, updated_at = current_timestamp()",
                {"ids": ids, "scores": [float(effects[i]) for i in ids]},
            )

    def measured(self, limit: int) -> list[Example]:
        """Examples with a measured effectiveness, worst first (the chart and the pruning suggestions)."""
        rows = self._engine.query(
            f"SELECT {_READ} FROM {self._examples} e WHERE e.effectiveness_score IS NOT NULL "
            "ORDER BY e.effectiveness_score, e.usage_count DESC, e.example_id LIMIT :limit",
            {"limit": limit},
        )
        return [to_example(r) for r in rows]

    def count_usage(self, ids: list[str]) -> None:
        if ids:
            for chunk in key_chunks(sorted(set(ids))):  # an index lookup, as in `passing`
                self._engine.execute(
                    f"UPDATE {self._examples} SET usage_count = coalesce(usage_count, 0) + 1 WHERE example_id IN {in_list(chunk)}", chunk,
                )
