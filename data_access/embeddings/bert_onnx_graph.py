"""Builds an ONNX graph of a BERT sentence encoder (mean pooling, L2 norm) from its weights.

Only standard ONNX ops are used, so ONNX Runtime runs it without torch. The weights are the
Hugging Face `BertModel` tensors (`embeddings.*`, `encoder.layer.N.*`). Two exact algebraic
rewrites make the graph smaller: the token-type-0 row is added into the position table (every
input is a single sentence, type 0), and the 1/sqrt(head_dim) attention scale is folded into
the query projection.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Opset 17 is the first with LayerNormalization; IR 8 is what opset 17 shipped with, and
# every ONNX Runtime since 1.12 loads it.
OPSET = 17
IR_VERSION = 8
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
OUTPUT = "sentence_embedding"
# Added to attention scores at padding positions: far below any real score, so softmax gives
# them exactly zero weight, and far from float32's limit, so nothing overflows.
_MASKED_SCORE = -1e9
# sentence-transformers clamps the token count and the norm with these.
_MIN_TOKEN_COUNT = 1e-9
_MIN_NORM = 1e-12


@dataclass(frozen=True)
class BertConfig:
    hidden_size: int
    num_attention_heads: int
    num_hidden_layers: int
    intermediate_size: int
    layer_norm_eps: float
    max_position_embeddings: int

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if raw.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{path}: hidden_act {raw['hidden_act']!r} is not supported (only exact gelu).")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only absolute position embeddings are supported.")
        config = cls(
            hidden_size=int(raw["hidden_size"]),
            num_attention_heads=int(raw["num_attention_heads"]),
            num_hidden_layers=int(raw["num_hidden_layers"]),
            intermediate_size=int(raw["intermediate_size"]),
            layer_norm_eps=float(raw["layer_norm_eps"]),
            max_position_embeddings=int(raw["max_position_embeddings"]),
        )
        if config.hidden_size % config.num_attention_heads:
            raise ValueError(f"{path}: hidden_size is not a multiple of num_attention_heads.")
        return config


class _GraphBuilder:
    """Accumulates nodes and initializers, naming each intermediate value uniquely."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self._helper = helper
        self._numpy_helper = numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0
        self._scalars: set[str] = set()

    def constant(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(self._numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def scalar(self, name: str, value: float) -> str:
        """A float32 scalar constant, added once however often it is asked for."""
        if name not in self._scalars:
            self._scalars.add(name)
            self.constant(name, np.array(value, np.float32))
        return name

    def op(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        return self.op_with_outputs(op_type, list(inputs), 1, **attributes)[0]

    def op_with_outputs(self, op_type: str, inputs: list[str], count: int, **attributes: Any) -> list[str]:
        self._count += 1
        outputs = [f"{op_type.lower()}_{self._count}_{index}" for index in range(count)]
        self.nodes.append(self._helper.make_node(op_type, inputs, outputs, **attributes))
        return outputs


def build_sentence_encoder(weights: Mapping[str, np.ndarray], config: BertConfig) -> Any:
    """The encoder as an `onnx.ModelProto`: (input_ids, attention_mask) int64 [batch, seq] →
    sentence_embedding float32 [batch, hidden], mean-pooled over real tokens and unit length."""
    from onnx import TensorProto, checker, helper

    w = _WeightReader(weights)
    g = _GraphBuilder()
    hidden = config.hidden_size

    positions_with_type = w.get("embeddings.position_embeddings.weight", (config.max_position_embeddings, hidden))
    positions_with_type = positions_with_type + w.get("embeddings.token_type_embeddings.weight", (None, hidden))[0]
    words = g.op(
        "Gather", g.constant("word_embeddings", w.get("embeddings.word_embeddings.weight", (None, hidden))), INPUT_IDS
    )
    sequence_length = g.op("Shape", INPUT_IDS, start=1, end=2)
    positions = g.op(
        "Slice",
        g.constant("positions_with_type", positions_with_type),
        g.constant("zero", np.array([0], np.int64)),
        sequence_length,
    )
    x = _layer_norm(g, w, "embeddings.LayerNorm", g.op("Add", words, positions), config)

    mask = g.op("Cast", ATTENTION_MASK, to=TensorProto.FLOAT)
    score_bias = g.op("Mul", g.op("Sub", g.scalar("one", 1.0), mask), g.scalar("masked_score", _MASKED_SCORE))
    score_bias = g.op("Unsqueeze", score_bias, g.constant("axes_1_2", np.array([1, 2], np.int64)))
    split_heads = g.constant(
        "split_heads_shape", np.array([0, 0, config.num_attention_heads, config.head_size], np.int64)
    )
    merge_heads = g.constant("merge_heads_shape", np.array([0, 0, hidden], np.int64))

    for layer in range(config.num_hidden_layers):
        x = _encoder_layer(g, w, f"encoder.layer.{layer}", x, score_bias, split_heads, merge_heads, config)

    token_weights = g.op("Unsqueeze", mask, g.constant("axis_2", np.array([2], np.int64)))
    axis_1 = g.constant("axis_1", np.array([1], np.int64))
    summed = g.op("ReduceSum", g.op("Mul", x, token_weights), axis_1, keepdims=0)
    counts = g.op("ReduceSum", token_weights, axis_1, keepdims=0)
    counts = g.op("Max", counts, g.scalar("min_token_count", _MIN_TOKEN_COUNT))
    mean = g.op("Div", summed, counts)
    norm = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", mean, mean), axis_1, keepdims=1))
    norm = g.op("Max", norm, g.scalar("min_norm", _MIN_NORM))
    g.nodes.append(helper.make_node("Div", [mean, norm], [OUTPUT]))

    graph = helper.make_graph(
        g.nodes,
        "bert_sentence_encoder",
        inputs=[
            helper.make_tensor_value_info(INPUT_IDS, TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info(ATTENTION_MASK, TensorProto.INT64, ["batch", "sequence"]),
        ],
        outputs=[helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", hidden])],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION, producer_name="vital-workbench"
    )
    checker.check_model(model)
    return model


class _WeightReader:
    """Looks up a tensor, checking it exists with the shape the config implies."""

    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        self._weights = weights

    def get(self, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
        if name not in self._weights:
            raise ValueError(f"The model weights lack the tensor {name!r}.")
        tensor = np.asarray(self._weights[name], dtype=np.float32)
        if tensor.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(tensor.shape, shape, strict=True)
        ):
            raise ValueError(f"The tensor {name!r} has shape {tensor.shape}, expected {shape}.")
        return tensor

    def linear(self, prefix: str, outputs: int, inputs: int) -> tuple[np.ndarray, np.ndarray]:
        """(weight transposed for x @ W, bias): torch Linear stores W as [out, in]."""
        return self.get(f"{prefix}.weight", (outputs, inputs)).T, self.get(f"{prefix}.bias", (outputs,))


def _layer_norm(g: _GraphBuilder, w: _WeightReader, prefix: str, x: str, config: BertConfig) -> str:
    gamma = g.constant(f"{prefix}.weight", w.get(f"{prefix}.weight", (config.hidden_size,)))
    beta = g.constant(f"{prefix}.bias", w.get(f"{prefix}.bias", (config.hidden_size,)))
    return g.op("LayerNormalization", x, gamma, beta, axis=-1, epsilon=config.layer_norm_eps)


def _dense(g: _GraphBuilder, name: str, x: str, weight: np.ndarray, bias: np.ndarray) -> str:
    return g.op("Add", g.op("MatMul", x, g.constant(f"{name}.weight_t", weight)), g.constant(f"{name}.bias", bias))


def _encoder_layer(
    g: _GraphBuilder,
    w: _WeightReader,
    prefix: str,
    x: str,
    score_bias: str,
    split_heads: str,
    merge_heads: str,
    config: BertConfig,
) -> str:
    hidden = config.hidden_size
    scale = np.float32(1.0 / math.sqrt(config.head_size))
    query_weight, query_bias = w.linear(f"{prefix}.attention.self.query", hidden, hidden)
    key_weight, key_bias = w.linear(f"{prefix}.attention.self.key", hidden, hidden)
    value_weight, value_bias = w.linear(f"{prefix}.attention.self.value", hidden, hidden)
    # One MatMul for Q, K and V together, split afterwards.
    qkv = _dense(
        g,
        f"{prefix}.attention.qkv",
        x,
        np.concatenate([query_weight * scale, key_weight, value_weight], axis=1),
        np.concatenate([query_bias * scale, key_bias, value_bias]),
    )
    query, key, value = g.op_with_outputs(
        "Split", [qkv, g.constant(f"{prefix}.qkv_split", np.array([hidden] * 3, np.int64))], 3, axis=2
    )

    def heads(tensor: str, perm: list[int]) -> str:
        return g.op("Transpose", g.op("Reshape", tensor, split_heads), perm=perm)

    scores = g.op("MatMul", heads(query, [0, 2, 1, 3]), heads(key, [0, 2, 3, 1]))
    probabilities = g.op("Softmax", g.op("Add", scores, score_bias), axis=-1)
    context = g.op("MatMul", probabilities, heads(value, [0, 2, 1, 3]))
    context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge_heads)

    attended = _dense(
        g, f"{prefix}.attention.output.dense", context, *w.linear(f"{prefix}.attention.output.dense", hidden, hidden)
    )
    x = _layer_norm(g, w, f"{prefix}.attention.output.LayerNorm", g.op("Add", attended, x), config)

    inner = _dense(
        g,
        f"{prefix}.intermediate.dense",
        x,
        *w.linear(f"{prefix}.intermediate.dense", config.intermediate_size, hidden),
    )
    outer = _dense(
        g,
        f"{prefix}.output.dense",
        _gelu(g, inner),
        *w.linear(f"{prefix}.output.dense", hidden, config.intermediate_size),
    )
    return _layer_norm(g, w, f"{prefix}.output.LayerNorm", g.op("Add", outer, x), config)


def _gelu(g: _GraphBuilder, x: str) -> str:
    """Exact GELU, x·½(1 + erf(x/√2)), in the form ONNX Runtime fuses into one kernel."""
    erf = g.op("Erf", g.op("Div", x, g.scalar("sqrt_two", math.sqrt(2.0))))
    return g.op("Mul", g.op("Mul", x, g.op("Add", erf, g.scalar("one", 1.0))), g.scalar("half", 0.5))
