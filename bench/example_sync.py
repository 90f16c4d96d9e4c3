"""Example Store sync from a Training Sheet of 100,000 approved pairs: the gate query, the drafts,
the comparison with what is synced, the insert into the table and the index.

The first sync embeds every pair's input; with the bundled MiniLM on this CPU that alone takes
minutes, so the first sync is timed with a stand-in embedder (a seeded random vector per text,
the model's dimension) and the model's own rate is measured on a sample and reported beside it.
A re-sync with nothing changed embeds nothing and runs with the real model. Run:
`python -m bench.example_sync`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from bench.measure import Measurement, at_most
from bench.scratch_home import bench_settings, scratch_home
from data_access.embeddings.embedder import Embedder
from data_access.embeddings.factory import open_embedder
from data_access.vector_search.factory import open_example_index
from services.core.workbench import open_workbench
from services.example_store.examples import ExampleStore
from tests.dspy_builders import provider_training_sheet

PAIRS = 100_000
GOAL_S = 10  # issue 12: sync of 100,000 pairs
MODEL_SAMPLE = 512  # texts the real model embeds to give its rate
T = TypeVar("T")


class _StandIn(Embedder):
    """Vectors without a model: what the sync does around embedding, measured alone. The vectors
    are drawn before the clock starts, as if the model had already answered: drawing 100,000 of
    them inside the sync put up to 1.6 s of the stand-in's own work into a figure that excludes
    embedding (a fresh 150 MB matrix costs that much on this VM when the host is slow to give pages)."""

    is_semantic = False

    def __init__(self, dimension: int, texts: int) -> None:
        self.name, self.dimension = "bench stand-in", dimension
        self._drawn = np.random.default_rng(7).standard_normal((texts, dimension), dtype=np.float32)

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        if len(texts) > len(self._drawn):
            raise ValueError(f"The stand-in drew {len(self._drawn):,} vectors; asked for {len(texts):,}.")
        return self._drawn[: len(texts)]


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def run() -> list[Measurement]:
    with scratch_home("bench-example-sync-") as home:
        wb = open_workbench(bench_settings(home))
        model = open_embedder(wb.settings)
        training = provider_training_sheet(wb, pairs=PAIRS)
        index = open_example_index(wb.backend, model.dimension)
        stand_in = _StandIn(model.dimension, PAIRS)
        first_s, report = _timed(lambda: ExampleStore(wb, stand_in, index).sync(training.id))
        again_s, again = _timed(lambda: ExampleStore(wb, model, index).sync(training.id))
        texts = [f"Invoice INV-{i:06d} from City Medical Center." for i in range(MODEL_SAMPLE)]
        model_s, _ = _timed(lambda: model.embed(texts))
        rate = MODEL_SAMPLE / model_s
        load = f"load average {os.getloadavg()[0]:.1f}"
        return [
            at_most(f"Example Store first sync of {PAIRS:,} pairs, embedding excluded (stand-in vectors)", first_s, GOAL_S, "s",
                    f"{len(report.added):,} examples added; the real model ({model.name}) embeds {rate:.0f} texts/s here, so "
                    f"embedding {PAIRS:,} would add about {PAIRS / rate / 60:.0f} min; {load}"),
            at_most(f"Example Store re-sync of {PAIRS:,} unchanged pairs", again_s, GOAL_S, "s",
                    f"{again.unchanged:,} unchanged, {len(again.added)} added, {len(again.updated)} refreshed; {load}"),
        ]


if __name__ == "__main__":
    for m in run():
        print(m.case, m.value, m.unit, m.goal, "met" if m.all_met else "NOT MET", "|", m.detail)
