"""An independent numpy forward pass of a BERT sentence encoder, to check the ONNX graph.

Written straight from the BERT and sentence-transformers definitions, sharing no code with
data_access.embeddings: its own safetensors reader, float64 arithmetic, one text at a time
with no padding (so no attention mask), mean pooling, L2 normalisation.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

_NUMPY_TYPES = {"F32": "<f4", "I64": "<i8"}
_erf = np.vectorize(math.erf)


def load_weights(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    body = raw[8 + length :]
    weights = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=_NUMPY_TYPES[entry["dtype"]]).reshape(entry["shape"])
        weights[name] = array.astype(np.float64)
    return weights


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


def _linear(weights: dict[str, np.ndarray], prefix: str, x: np.ndarray) -> np.ndarray:
    return x @ weights[f"{prefix}.weight"].T + weights[f"{prefix}.bias"]


def sentence_embedding(token_ids: list[int], weights: dict[str, np.ndarray], config: dict) -> np.ndarray:
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    size = config["hidden_size"] // heads
    n = len(token_ids)
    x = (
        weights["embeddings.word_embeddings.weight"][token_ids]
        + weights["embeddings.position_embeddings.weight"][:n]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    x = _layer_norm(x, weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"], eps)
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}"
        q, k, v = (
            _linear(weights, f"{p}.attention.self.{part}", x).reshape(n, heads, size).transpose(1, 0, 2)
            for part in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(size)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attention = scores / scores.sum(axis=-1, keepdims=True)
        context = (attention @ v).transpose(1, 0, 2).reshape(n, heads * size)
        x = _layer_norm(
            _linear(weights, f"{p}.attention.output.dense", context) + x,
            weights[f"{p}.attention.output.LayerNorm.weight"],
            weights[f"{p}.attention.output.LayerNorm.bias"],
            eps,
        )
        inner = _linear(weights, f"{p}.intermediate.dense", x)
        inner = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)))
        x = _layer_norm(
            _linear(weights, f"{p}.output.dense", inner) + x,
            weights[f"{p}.output.LayerNorm.weight"],
            weights[f"{p}.output.LayerNorm.bias"],
            eps,
        )
    pooled = x.mean(axis=0)
    return pooled / np.linalg.norm(pooled)
