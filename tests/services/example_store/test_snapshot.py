"""The Example Store snapshot for an edge bundle: only examples that pass the few-shot gate at
export time, each with its vector at the row it names."""

from __future__ import annotations

import io
import json

import numpy as np

from services.core.workbench import Workbench
from services.example_store.examples import ExampleStore, example_id_for_pair
from services.example_store.records import ExampleDraft
from services.example_store.snapshot import gated_snapshot
from tests.example_store_builders import pair_ids, set_pair, sheet_with_pairs, tag_source
from tests.train_builders import PairSpec


def _unpacked(wb: Workbench) -> tuple[dict[str, dict], np.ndarray]:
    snapshot = gated_snapshot(wb)
    lines = [json.loads(line) for line in snapshot.examples_jsonl.decode().splitlines()]
    assert snapshot.count == len(lines)
    return {line["example_id"]: line for line in lines}, np.load(io.BytesIO(snapshot.embeddings_npy))


def test_the_snapshot_holds_the_examples_that_pass_the_gate_now_with_their_vectors(workbench: Workbench) -> None:
    store = ExampleStore(workbench)
    authored = store.add(ExampleDraft("Crystal shows a hairline crack", '{"defect_type": "crack"}', function_name="classification"))
    sheet = sheet_with_pairs(workbench, [PairSpec(), PairSpec()])
    store.sync(sheet.id)
    kept, rejected = pair_ids(workbench, sheet.id)
    set_pair(workbench, rejected, status="rejected")  # after the sync: the gate at export time leaves it out

    lines, vectors = _unpacked(workbench)

    assert set(lines) == {authored.example_id, example_id_for_pair(kept)}
    assert vectors.shape == (2, store.embedder.dimension) and vectors.dtype == np.float32
    row = lines[authored.example_id]
    assert (row["input"], row["expected_output"], row["embedding_model"]) == (authored.input, authored.expected_output, store.embedder.name)
    assert np.allclose(vectors[row["embedding_row"]], store.embedder.embed_one(authored.input), atol=1e-5)


def test_examples_of_a_source_tagged_against_few_shot_since_are_left_out(workbench: Workbench) -> None:
    store = ExampleStore(workbench)
    authored = store.add(ExampleDraft("Crystal shows a hairline crack", "crack"))
    store.sync(sheet_with_pairs(workbench, [PairSpec()]).id)
    tag_source(workbench, {"CONFIDENTIAL": "true"})

    lines, vectors = _unpacked(workbench)

    assert set(lines) == {authored.example_id} and vectors.shape[0] == 1


def test_an_empty_store_gives_an_empty_snapshot(workbench: Workbench) -> None:
    assert gated_snapshot(workbench).count == 0
