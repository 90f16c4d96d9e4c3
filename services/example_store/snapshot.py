"""The Example Store as it may be used now, for an edge bundle: the examples that pass the
few-shot gate at this moment (their pair's status and constraints, their source's current tags),
as JSON lines, and their vectors as one float32 matrix (`.npy`), row i for line i, so the edge
can search them by meaning without the workbench."""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass

import numpy as np

from services.core.workbench import Workbench
from services.example_store.examples_store import ExamplesStore
from services.example_store.source_gate import blocked_sources


@dataclass(frozen=True)
class ExampleSnapshot:
    examples_jsonl: bytes
    embeddings_npy: bytes
    count: int
    embedding_model: str  # of the matrix's rows; an example embedded by another model has no row


def gated_snapshot(wb: Workbench) -> ExampleSnapshot:
    rows = ExamplesStore(wb.backend.engine, wb.table("example_store"), wb.table("qa_pairs"), wb.table("training_sheets")).all_passing()
    blocked = blocked_sources(wb, [r["source_sheet_id"] for r in rows if r["source_sheet_id"]])
    rows = [r for r in rows if r["source_sheet_id"] not in blocked]
    # One matrix needs one model: the one most examples were embedded with.
    model = Counter(r["embedding_model"] for r in rows if r["embedding"]).most_common(1)[0][0] if rows else ""
    vectors, lines = [], []
    for row in rows:
        in_matrix = bool(row["embedding"]) and row["embedding_model"] == model
        if in_matrix:
            vectors.append(row["embedding"])
        lines.append(json.dumps({
            "example_id": row["example_id"], "input": row["input"], "expected_output": row["expected_output"],
            "explanation": row["explanation"] or "", "search_keys": list(row["search_keys"] or ()),
            "function_name": row["function_name"], "domain": row["domain"], "quality_score": row["quality_score"],
            "effectiveness_score": row["effectiveness_score"], "source_qa_pair_id": row["source_qa_pair_id"],
            "embedding_model": row["embedding_model"], "embedding_row": len(vectors) - 1 if in_matrix else None,
        }, ensure_ascii=False))
    matrix = io.BytesIO()
    np.save(matrix, np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1) if vectors else np.zeros((0, 0), dtype=np.float32))
    return ExampleSnapshot(("\n".join(lines) + "\n").encode() if lines else b"", matrix.getvalue(), len(rows), model)
