"""Looking rows up by a list of keys: one named parameter per key (`k_0`, `k_1`, ...).

One parameter per key in an IN list is what lets DuckDB find the rows by their primary key
(a join, `array_contains` or a filter beside the list scans the table), and a SQL warehouse
binds at most 256 values a statement, so the keys go at most KEYS_PER_STATEMENT at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

KEYS_PER_STATEMENT = 200  # leaves room under a warehouse's 256 for the statement's other parameters


def key_chunks(keys: Sequence[str]) -> Iterator[dict[str, str]]:
    """The keys as named parameters, at most KEYS_PER_STATEMENT a chunk."""
    for start in range(0, len(keys), KEYS_PER_STATEMENT):
        yield {f"k_{n}": key for n, key in enumerate(keys[start : start + KEYS_PER_STATEMENT])}


def in_list(chunk: dict[str, str]) -> str:
    """`(:k_0, :k_1, ...)` for a chunk of `key_chunks`."""
    return "(" + ", ".join(f":{name}" for name in chunk) + ")"
