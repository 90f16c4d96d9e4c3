"""Writing again after a write conflict with another writer whose transaction is still open."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from data_access.sql.engine import WriteConflictError

T = TypeVar("T")

# A conflicting writer is one small statement or a batch like ours: backing off 0.05 s, doubling,
# waits out 0.75 s of it over five attempts before the conflict is the caller's.
CONFLICT_ATTEMPTS = 5
CONFLICT_BACKOFF_S = 0.05


def retried_on_conflict(write: Callable[[], T]) -> T:
    """`write()`, tried again after a WriteConflictError; the last attempt's conflict is raised.
    Only for writes whose result does not depend on who wins (a cache, a derived signal)."""
    for attempt in range(CONFLICT_ATTEMPTS - 1):
        try:
            return write()
        except WriteConflictError:
            time.sleep(CONFLICT_BACKOFF_S * 2**attempt)  # the other writer's transaction is still open
    return write()
