"""Another process holding a local store, as a second `make run` would: for tests of the lock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Opens the store's main file as the app does, says so, and keeps it open until stdin closes.
_HOLD = (
    "import sys, duckdb; from pathlib import Path\n"
    "home = Path(sys.argv[1]); (home / 'catalogs').mkdir(parents=True, exist_ok=True)\n"
    "connection = duckdb.connect(str(home / 'workbench.duckdb'))\n"
    "print('holding', flush=True); sys.stdin.read()\n"
)


@contextmanager
def store_held_by_another_process(home: Path) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(home)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"  # waits until the lock is taken
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
