"""The fallback when no embedding model can load: hashed word and character-trigram counts.

Deterministic across processes and machines (a fixed hash, not Python's salted `hash`), so
stored vectors stay comparable. It measures shared wording, not meaning, and says so
through `is_semantic = False`.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache

import numpy as np

from data_access.embeddings.embedder import Embedder

# Buckets for the hashed features; with a few hundred distinct features per text,
# collisions at 1024 are rare enough not to blur short texts together.
LEXICAL_DIMENSION = 1024
# Trigrams let "crack" and "cracked" share most of their features; they count for less than
# whole words, which carry more of the meaning.
_TRIGRAM_WEIGHT = 0.5
_WORD = re.compile(r"\w+")


class LexicalEmbedder(Embedder):
    is_semantic = False

    def __init__(self, *, dimension: int = LEXICAL_DIMENSION, fallback_reason: str | None = None) -> None:
        if dimension < 1:
            raise ValueError("dimension must be positive.")
        self.name = "lexical (hashed words and character trigrams)"
        self.dimension = dimension
        self.fallback_reason = fallback_reason

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, count in Counter(_features(text)).items():
                weight = _TRIGRAM_WEIGHT if feature.startswith("c:") else 1.0
                # Sublinear counts: a word said five times is not five times the topic.
                matrix[row, _bucket(feature, self.dimension)] += weight * (1.0 + math.log(count))
        return matrix


def _features(text: str) -> list[str]:
    features: list[str] = []
    for word in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        features.append(f"w:{word}")
        padded = f"#{word}#"
        features.extend(f"c:{padded[start : start + 3]}" for start in range(len(padded) - 2))
    return features


@lru_cache(maxsize=65_536)
def _bucket(feature: str, dimension: int) -> int:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % dimension
