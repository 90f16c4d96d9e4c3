"""The local embedding stack: the ONNX MiniLM encoder, the lexical fallback, the factory, the index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_access.embeddings import EmbeddingModelUnavailable, VectorIndex, open_embedder
from data_access.embeddings.lexical import LexicalEmbedder
from data_access.embeddings.minilm_onnx import MAX_TOKENS, MiniLmOnnxEmbedder, bundled_model_dir
from data_access.settings import load_settings
from tests.data_access.embeddings_reference import load_weights, sentence_embedding

CRACKED_CRYSTAL = "The crystal has a crack along its edge"
FRACTURED_SCINTILLATOR = "A fracture runs across the scintillator"
INVOICE = "Invoice total due in 30 days"
VARIED_TEXTS = [
    CRACKED_CRYSTAL,
    "",
    'Détecteur NaI(Tl) 3" × 3": résolution 7 % à 662 keV',
    "short",
    "Portal monitors alarm on gamma and neutron channels independently; operators log each alarm. " * 3,
    INVOICE,
    "ok",
    FRACTURED_SCINTILLATOR,
]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedding-home")


@pytest.fixture(scope="module")
def minilm(home) -> MiniLmOnnxEmbedder:
    """Built once for the module (about 2-3 s); through the factory, as the app opens it."""
    embedder = open_embedder(load_settings({"WORKBENCH_HOME": str(home)}), home / "models")
    assert isinstance(embedder, MiniLmOnnxEmbedder), embedder.fallback_reason
    return embedder


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_the_onnx_encoder_matches_an_independent_numpy_forward_pass(minilm):
    model_dir = bundled_model_dir()
    weights = load_weights(model_dir / "model.safetensors")
    config = json.loads((model_dir / "config.json").read_text())
    texts = [CRACKED_CRYSTAL, "", "Détecteur NaI(Tl) à 662 keV", "word " * 300]
    token_ids = [minilm._tokenizer.encode(text).ids for text in texts]
    assert len(token_ids[-1]) == MAX_TOKENS

    reference = np.array([sentence_embedding(ids, weights, config) for ids in token_ids])

    np.testing.assert_allclose(minilm.embed(texts), reference, atol=1e-4)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(minilm):
    crystal, scintillator, invoice = minilm.embed([CRACKED_CRYSTAL, FRACTURED_SCINTILLATOR, INVOICE])

    assert cosine(crystal, scintillator) > cosine(crystal, invoice) + 0.2
    assert minilm.is_semantic and minilm.fallback_reason is None


def test_vectors_are_float32_unit_length_rows_in_input_order(minilm):
    vectors = minilm.embed(VARIED_TEXTS)

    assert vectors.shape == (len(VARIED_TEXTS), minilm.dimension) == (len(VARIED_TEXTS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], minilm.embed_one(CRACKED_CRYSTAL), atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)


def test_a_bare_string_is_refused_rather_than_embedded_letter_by_letter(minilm):
    with pytest.raises(TypeError, match="sequence of texts"):
        minilm.embed(CRACKED_CRYSTAL)


def test_batching_gives_the_same_vectors_as_one_text_at_a_time(minilm, home):
    small_batches = MiniLmOnnxEmbedder(bundled_model_dir(), home / "models", batch_size=3)

    together = small_batches.embed(VARIED_TEXTS)
    one_by_one = np.array([minilm.embed([text])[0] for text in VARIED_TEXTS])

    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(minilm.embed(VARIED_TEXTS), one_by_one, atol=1e-5)


def test_the_built_graph_is_cached_and_reused(minilm, home):
    graphs = list((home / "models").glob("*.onnx"))
    before = minilm.graph_path.stat()

    reopened = MiniLmOnnxEmbedder(bundled_model_dir(), home / "models")

    assert graphs == [minilm.graph_path]
    after = reopened.graph_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    np.testing.assert_allclose(reopened.embed([INVOICE]), minilm.embed([INVOICE]), atol=1e-6)


def test_a_damaged_cached_graph_is_rebuilt(minilm, tmp_path):
    cache = tmp_path / "models"
    cache.mkdir()
    damaged = cache / minilm.graph_path.name
    damaged.write_bytes(b"not an onnx graph")

    rebuilt = MiniLmOnnxEmbedder(bundled_model_dir(), cache)

    assert damaged.stat().st_size > 1_000_000
    np.testing.assert_allclose(rebuilt.embed([INVOICE]), minilm.embed([INVOICE]), atol=1e-6)


def broken_model_dir(tmp_path: Path) -> Path:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copy(bundled_model_dir() / name, broken / name)
    (broken / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    return broken


def test_a_broken_model_falls_back_to_lexical_and_says_why(settings, tmp_path):
    embedder = open_embedder(settings, settings.home, model_dir=broken_model_dir(tmp_path))

    assert isinstance(embedder, LexicalEmbedder)
    assert embedder.is_semantic is False
    assert "model.safetensors" in embedder.fallback_reason
    np.testing.assert_allclose(np.linalg.norm(embedder.embed([CRACKED_CRYSTAL]), axis=1), 1.0, atol=1e-5)


def test_a_missing_model_folder_falls_back_naming_the_folder(settings, tmp_path):
    missing = tmp_path / "no-model-here"

    embedder = open_embedder(settings, settings.home, model_dir=missing)

    assert embedder.is_semantic is False
    assert str(missing) in embedder.fallback_reason


def test_loading_a_broken_model_directly_raises_a_clear_error(tmp_path):
    with pytest.raises(EmbeddingModelUnavailable, match="could not be loaded"):
        MiniLmOnnxEmbedder(broken_model_dir(tmp_path), tmp_path / "models")


def test_on_databricks_without_an_endpoint_the_local_model_is_used(minilm, home, monkeypatch):
    monkeypatch.delenv("WORKBENCH_EMBEDDING_ENDPOINT", raising=False)
    settings = load_settings({"WORKBENCH_BACKEND": "databricks", "WORKBENCH_HOME": str(home)})

    assert open_embedder(settings, home / "models") is minilm


def test_lexical_vectors_favour_shared_words_and_are_unit_length():
    lexical = LexicalEmbedder()

    cracked, crack_again, invoice, empty = lexical.embed(
        ["Crystal cracked at the edge", "a crack in the crystal", INVOICE, ""]
    )

    assert cosine(cracked, crack_again) > cosine(cracked, invoice)
    np.testing.assert_allclose(np.linalg.norm([cracked, crack_again, invoice], axis=1), 1.0, atol=1e-5)
    assert not empty.any()


def test_lexical_vectors_are_the_same_in_another_process():
    script = "from data_access.embeddings.lexical import LexicalEmbedder; print(LexicalEmbedder().embed(['crack in the crystal']).tobytes().hex())"
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        cwd=Path(__file__).parents[2],
    )

    assert bytes.fromhex(output.stdout.strip()) == LexicalEmbedder().embed(["crack in the crystal"]).tobytes()


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_the_index_returns_the_k_most_similar_ids_best_first():
    index = VectorIndex(3)
    index.add(["x", "y", "xy", "z"], np.array([unit(1, 0, 0), unit(0, 1, 0), unit(1, 1, 0), unit(0, 0, 1)]))

    hits = index.search(np.array([2.0, 0.5, 0.0]), k=2)

    assert [item for item, _ in hits] == ["x", "xy"]
    assert hits[0][1] == pytest.approx(float(unit(2, 0.5, 0) @ unit(1, 0, 0)))


def test_the_index_searches_only_the_allowed_ids():
    index = VectorIndex(3)
    index.add(["x", "y", "xy", "z"], np.array([unit(1, 0, 0), unit(0, 1, 0), unit(1, 1, 0), unit(0, 0, 1)]))

    hits = index.search(unit(1, 0, 0), k=3, allowed_ids={"y", "z", "not-indexed"})

    assert [item for item, _ in hits] == ["y", "z"]
    assert index.search(unit(1, 0, 0), k=3, allowed_ids=[]) == []


def test_adding_an_existing_id_replaces_its_vector():
    index = VectorIndex(2)
    index.add(["a", "b"], np.array([unit(1, 0), unit(0, 1)]))

    index.add(["a"], np.array([unit(0, 1)]))

    assert len(index) == 2
    assert index.search(unit(0, 1), k=2) == [("a", pytest.approx(1.0)), ("b", pytest.approx(1.0))]


def test_the_index_grows_past_its_first_allocation_and_keeps_every_vector(minilm):
    index = VectorIndex(minilm.dimension)
    texts = [f"calibration record {i} for detector {i % 7}" for i in range(300)]
    index.add([f"id-{i}" for i in range(300)], minilm.embed(texts))

    (best, score), *_ = index.search(minilm.embed_one(texts[123]), k=3)

    assert len(index) == 300 and "id-299" in index
    assert best == "id-123" and score == pytest.approx(1.0, abs=1e-5)


def test_the_index_refuses_vectors_of_the_wrong_size():
    index = VectorIndex(3)

    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        index.add(["a"], np.ones((1, 4)))
    with pytest.raises(ValueError, match="length 3"):
        index.search(np.ones(4), k=1)
    assert len(index) == 0
