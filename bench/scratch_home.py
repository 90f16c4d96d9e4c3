"""A throwaway store home for one benchmark suite: opened on settings of its own, and released and
removed afterwards even when the suite fails (DuckDB's file lock and the process's prepared-store
cache would otherwise outlive it)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from data_access.settings import Settings, load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores


@contextmanager
def scratch_home(prefix: str) -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield home
    finally:
        forget_prepared_stores()
        release_home(home)
        shutil.rmtree(home, ignore_errors=True)


def bench_settings(home: Path, **env: str) -> Settings:
    """An empty local store (no demo data) in `home`, as the bench user; `env` adds settings."""
    return load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "bench@localhost", **env})
