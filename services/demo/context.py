"""What every seed step shares: the workbench, the seed, and where the raw demo data lives.

Randomness is derived per purpose (and per item) from the one seed, never from global state:
a step, or one image inside it, draws the same numbers however many steps run before it.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_access.volumes import LocalVolumeFiles
from services.core.errors import ValidationError
from services.core.workbench import Workbench

RAW_SCHEMA = "raw"
ONLY_EMBEDDED = (
    "The demo data is generated into the embedded store only (WORKBENCH_BACKEND=local); "
    "on Databricks, point sheets at your own Unity Catalog tables."
)

StepCounts = Mapping[str, int]


def derive_seed(seed: int, *purpose: object) -> int:
    """A 64-bit seed for one purpose; sha256, because `hash()` of a str changes per process."""
    digest = hashlib.sha256(repr((seed, *purpose)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class DemoContext:
    workbench: Workbench
    seed: int

    @property
    def catalog(self) -> str:
        return self.workbench.settings.catalog

    @property
    def raw_schema(self) -> str:
        return f"{self.catalog}.{RAW_SCHEMA}"

    def raw_table(self, name: str) -> str:
        return f"{self.raw_schema}.{name}"

    def volume(self, name: str) -> str:
        return f"/Volumes/{self.catalog}/{RAW_SCHEMA}/{name}"

    def random(self, *purpose: object) -> random.Random:
        return random.Random(derive_seed(self.seed, *purpose))

    def numpy(self, *purpose: object) -> np.random.Generator:
        return np.random.default_rng(derive_seed(self.seed, *purpose))


@dataclass(frozen=True)
class SeedStep:
    """One part of the demo: `run` writes it and says what it wrote; `clear` removes it."""

    name: str
    run: Callable[[DemoContext], StepCounts]
    clear: Callable[[DemoContext], None]


def replace_raw_table(context: DemoContext, name: str, columns_ddl: str, rows: pd.DataFrame, tags: dict[str, str]) -> int:
    """Recreate one raw table from scratch, fill it in one set-based insert, and tag it."""
    engine = context.workbench.backend.engine
    table = context.raw_table(name)
    engine.execute(f"CREATE SCHEMA IF NOT EXISTS {context.raw_schema}")
    engine.execute(f"DROP TABLE IF EXISTS {table}")
    engine.execute(f"CREATE TABLE {table} ({columns_ddl})")
    inserted = engine.insert_rows(table, rows)
    context.workbench.backend.catalog.set_table_tags(table, tags)
    return inserted


def drop_raw_table(context: DemoContext, name: str) -> None:
    context.workbench.backend.engine.execute(f"DROP TABLE IF EXISTS {context.raw_table(name)}")


def remove_volume(context: DemoContext, name: str) -> None:
    """Delete a demo volume with its files (the volume seam has no delete; the mirror is ours)."""
    files = context.workbench.backend.files
    if not isinstance(files, LocalVolumeFiles):
        raise ValidationError(ONLY_EMBEDDED)
    shutil.rmtree(files.local_path(context.volume(name)), ignore_errors=True)
