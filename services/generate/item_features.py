"""What tells one item from another, as vectors: the fields a template reads, and its images.

Numbers are standardised, categories one-hot, free text goes through the sentence embedding,
images through their content descriptor (services/generate/image_descriptor.py). Each field,
and the images, is a block of unit variance over the labeled items; the drafter decides how
much each block counts. A field whose values are short and nearly all different (an id, a
serial number) says nothing about an item's label and is left out, and so is a field that
never varies. The rendered prompt itself is not used: items of one template share most of its
words, so the similarity of any two prompts is close to 1.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from data_access.embeddings.embedder import Embedder

MAX_CATEGORIES = 30  # more distinct short values than this is an identifier, not a category
TEXT_MIN_CHARS = 40  # a string field this long on average is prose: it is embedded
_NO_SPREAD = 1e-9

EmbedderFactory = Callable[[], Embedder]  # opened only when a field is prose
ImageDescriber = Callable[[str], "np.ndarray | None"]  # an image's path -> its descriptor, None when unreadable


@dataclass(frozen=True)
class ItemInput:
    """What the offline drafter knows of an item: the fields its template reads, and its images."""

    item_ref: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    image_paths: tuple[str, ...] = ()


class _Block(ABC):
    """One field (or the images) as columns of the feature vector."""

    description: str
    spread: float  # over the labeled items; a block that does not vary tells nothing

    @property
    def varies(self) -> bool:
        return self.spread > _NO_SPREAD

    @abstractmethod
    def columns(self, items: Sequence[ItemInput]) -> np.ndarray:
        """(len(items), width) float32."""


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not _present(value):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return float(value.toordinal())
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _text(value: Any) -> str:
    if not _present(value):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) else str(value)


class _Number(_Block):
    def __init__(self, name: str, values: list[float | None]) -> None:
        known = np.array([v for v in values if v is not None], dtype=np.float64)
        self.name, self.mean, self.spread = name, float(known.mean()), float(known.std())
        self.description = f"{name} (number)"

    def columns(self, items: Sequence[ItemInput]) -> np.ndarray:
        values = [_number(item.fields.get(self.name)) for item in items]
        return np.array([[0.0 if v is None else (v - self.mean) / self.spread] for v in values], dtype=np.float32)


class _Category(_Block):
    def __init__(self, name: str, values: list[str]) -> None:
        self.name = name
        self.values = tuple(sorted(set(values)))
        shares = np.array([values.count(v) / len(values) for v in self.values])
        self.spread = float(1 - (shares**2).sum())  # the variance of the one-hot columns together
        self.description = f"{name} (category)"

    def columns(self, items: Sequence[ItemInput]) -> np.ndarray:
        index = {v: i for i, v in enumerate(self.values)}
        matrix = np.zeros((len(items), len(self.values)), dtype=np.float32)
        for row, item in enumerate(items):
            column = index.get(_text(item.fields.get(self.name)))
            if column is not None:
                matrix[row, column] = 1.0
        return matrix / math.sqrt(self.spread)


class _Text(_Block):
    def __init__(self, name: str, embedder: Embedder, values: list[Any]) -> None:
        self.name, self._embedder = name, embedder
        texts = [_text(v) for v in values]
        vectors = embedder.embed(texts)
        self._known = dict(zip(texts, vectors, strict=True))  # the labeled items' texts are embedded once
        self.centre = vectors.mean(axis=0)
        self.spread = float(((vectors - self.centre) ** 2).sum(axis=1).mean())  # the vectors' total variance
        how = f"by meaning ({embedder.name})" if embedder.is_semantic else f"by shared words ({embedder.name})"
        if embedder.fallback_reason:
            how += f"; the embedding model could not load: {embedder.fallback_reason}"
        self.description = f"{name} (text, {how})"

    def columns(self, items: Sequence[ItemInput]) -> np.ndarray:
        texts = [_text(item.fields.get(self.name)) for item in items]
        new = sorted({t for t in texts if t not in self._known})
        found = dict(zip(new, self._embedder.embed(new), strict=True)) if new else {}
        vectors = np.array([self._known[t] if t in self._known else found[t] for t in texts], dtype=np.float32).reshape(len(texts), len(self.centre))
        return ((vectors - self.centre) / math.sqrt(self.spread)).astype(np.float32)


class _Images(_Block):
    def __init__(self, describe: ImageDescriber, descriptors: list[np.ndarray | None]) -> None:
        self._describe = describe
        known = np.array([d for d in descriptors if d is not None], dtype=np.float64)
        self.mean = known.mean(axis=0)
        spread = known.std(axis=0)
        varying = spread > _NO_SPREAD
        # Each varying measure standardised, the block scaled to a total variance of 1.
        self.scale = np.where(varying, 1 / np.where(varying, spread, 1), 0) / math.sqrt(max(int(varying.sum()), 1))
        self.spread = float(varying.sum())  # measures that vary
        self.description = "the image's content (marks, patches and their shape)"

    def columns(self, items: Sequence[ItemInput]) -> np.ndarray:
        rows = _images_of(items, self._describe)
        return np.array([np.zeros_like(self.mean) if d is None else (d - self.mean) * self.scale for d in rows], dtype=np.float32)


def _images_of(items: Sequence[ItemInput], describe: ImageDescriber) -> list[np.ndarray | None]:
    """Each item's descriptor (the mean over its readable images), None when it has none."""
    rows = []
    for item in items:
        found = [d for d in map(describe, item.image_paths) if d is not None]
        rows.append(np.mean(found, axis=0) if found else None)
    return rows


@dataclass(frozen=True)
class FeatureSpace:
    """Fitted on the labeled items: how any item of the sheet becomes vectors, one per block
    (a field, or the images), each block with a total variance of 1 over the labeled items."""

    blocks: tuple[_Block, ...]
    left_out: tuple[str, ...]  # fields read by the template that say nothing (ids, constants)

    def block_vectors(self, items: Sequence[ItemInput]) -> list[np.ndarray]:
        if not self.blocks:  # nothing tells the items apart: one block in which all are alike
            return [np.zeros((len(items), 1), dtype=np.float32)]
        return [block.columns(items) for block in self.blocks]

    @property
    def descriptions(self) -> tuple[str, ...]:
        return tuple(b.description for b in self.blocks) or ("nothing (no field the prompt reads varies, and there is no image)",)


def fit_feature_space(
    items: Sequence[ItemInput], field_names: Sequence[str], embedder: EmbedderFactory, describe_image: ImageDescriber
) -> FeatureSpace:
    """Decide how each field counts from the labeled items' values, and fit scales on them."""
    blocks: list[_Block] = []
    left_out: list[str] = []
    for name in field_names:
        block = _field_block(name, [item.fields.get(name) for item in items], embedder)
        if block is None:
            left_out.append(name)
        else:
            blocks.append(block)
    if any(item.image_paths for item in items):
        descriptors = _images_of(items, describe_image)
        if any(d is not None for d in descriptors):
            images = _Images(describe_image, descriptors)
            if images.varies:
                blocks.append(images)
    return FeatureSpace(tuple(blocks), tuple(left_out))


def _field_block(name: str, values: list[Any], embedder: EmbedderFactory) -> _Block | None:
    present = [v for v in values if _present(v)]
    if not present:
        return None
    block: _Number | _Category | _Text
    if all(isinstance(v, bool) for v in present):
        block = _Category(name, [_text(v) for v in present])
    elif all(isinstance(v, int | float | Decimal | datetime | date) and not isinstance(v, bool) for v in present):
        block = _Number(name, [_number(v) for v in values])
    else:
        texts = [_text(v) for v in present]
        distinct = len(set(texts))
        numbers = [_number(v) for v in present]
        if distinct <= min(MAX_CATEGORIES, max(2, len(texts) // 2)):
            block = _Category(name, texts)
        elif all(n is not None for n in numbers):
            block = _Number(name, [_number(v) for v in values])
        elif sum(map(len, texts)) / len(texts) >= TEXT_MIN_CHARS:
            block = _Text(name, embedder(), values)
        else:
            return None  # short and nearly all different: an identifier
    return block if block.varies else None
