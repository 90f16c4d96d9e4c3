"""LABEL signal figures (issue 14): the PII scan ≥ 2,000 pairs/s, and duplicate detection over
100,000 pairs ≤ 30 s.

PII: the local rules' signal for each pair (services/review/pii_signals.py: the prompt and the
response of its messages JSON parsed and scanned, the reason built), over pairs shaped like the
demo's invoice prompts, one in ten carrying personal data. The store's read and write are not in
the figure. Duplicates: the embeddings are given (100,000 prompt vectors of 384 dimensions, as the
bundled MiniLM makes, read back from text_embeddings; embedding the texts is not timed): measured
is finding every pair at cosine ≥ 0.95 and grouping them (services/review/near_duplicates.py).
The vectors all look alike, as one template's prompts do (pairwise cosine ≈ 0.9), and one in
fifty is a near-copy of another; the detail says how many of those were found.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import numpy as np

from bench.measure import Measurement, at_least, at_most
from services.review.duplicate_signals import DUPLICATE_SIMILARITY
from services.review.near_duplicates import groups_of, similar_pairs
from services.review.pii_signals import pii_signal

PII_PAIRS = 20_000
PII_GOAL = 2_000  # pairs per second
DUPLICATE_PAIRS = 100_000
DIMENSION = 384
DUPLICATE_GOAL_S = 30.0
NEAR_COPY_EVERY = 50


def _messages(i: int) -> str:
    personal = f" Patient: John Smith, NPI 1234567893, call (415) 555-{i % 10000:04d}." if i % 10 == 0 else ""
    prompt = (
        f"Classify the urgency of invoice INV-{i:06d} from Lakeside Medical Supply, total {i % 997}.00 USD, "
        f"due 2026-03-{1 + i % 28:02d}. Items: gloves, masks, syringes.{personal}"
    )
    return json.dumps([
        {"role": "system", "content": "You label invoices for accounts payable. Answer in JSON."},
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": '{"urgency": "routine"}'},
    ])


def _pii() -> Measurement:
    texts = [_messages(i) for i in range(PII_PAIRS)]
    now = datetime.now(UTC)
    started = time.perf_counter()
    flagged = sum(pii_signal(str(i), "bench", text, now).flagged for i, text in enumerate(texts))
    rate = PII_PAIRS / (time.perf_counter() - started)
    assert flagged == PII_PAIRS // 10, f"expected {PII_PAIRS // 10} pairs with personal data, found {flagged}"
    return at_least("LABEL: PII signal (rules), pairs/s", rate, PII_GOAL, "pairs/s", f"{PII_PAIRS:,} invoice pairs, {flagged:,} with personal data")


def _templated_vectors(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    shared = rng.standard_normal(DIMENSION).astype(np.float32)
    vectors = shared / np.linalg.norm(shared) * np.sqrt(DIMENSION) + 0.35 * rng.standard_normal((DUPLICATE_PAIRS, DIMENSION)).astype(np.float32)
    copies = np.arange(1, DUPLICATE_PAIRS, NEAR_COPY_EVERY)
    vectors[copies] = vectors[copies - 1] + 0.05 * rng.standard_normal((copies.size, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, copies.size


def _duplicates() -> Measurement:
    vectors, planted = _templated_vectors(np.random.default_rng(14))
    started = time.perf_counter()
    edges = similar_pairs(vectors, DUPLICATE_SIMILARITY)
    groups = groups_of(len(vectors), edges)
    elapsed = time.perf_counter() - started
    found = int(np.sum(groups[np.arange(1, DUPLICATE_PAIRS, NEAR_COPY_EVERY)] == groups[np.arange(0, DUPLICATE_PAIRS - 1, NEAR_COPY_EVERY)]))
    return at_most(
        "LABEL: near-duplicate groups over 100,000 pairs (embeddings given)", elapsed, DUPLICATE_GOAL_S, "s",
        f"{len(edges):,} pairs at cosine ≥ {DUPLICATE_SIMILARITY:g}; {found:,} of {planted:,} planted near-copies grouped",
    )


def run() -> list[Measurement]:
    return [_pii(), _duplicates()]
