"""The `pair_signals` table: which pairs of a Training Sheet need a signal (re)computed, the
signals written set-based, and read back for the card and the queue's counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from data_access.sql.conflicts import retried_on_conflict
from data_access.sql.engine import Row, SqlEngine
from services.core.domain.signals import PairSignal

# Pairs per statement when signals are replaced: each array parameter stays around 1 MB, well
# inside what a SQL warehouse accepts (as bulk review's batches).
WRITE_BATCH = 10_000

# A signal {s} is current for pair {p}: the pair's row is unchanged since (an integer compare),
# or it changed but its messages did not (a review decision): only those few are hashed.
CURRENT = "({s}.pair_version = {p}row_version OR {s}.content_hash = sha2(coalesce({p}messages, ''), 256))"

SIGNAL_COLUMNS = (
    "pair_id", "training_sheet_id", "kind", "content_hash", "pair_version", "flagged", "score", "reason", "details", "group_id", "source",
    "computed_at",
)


def stale_predicate(signals_table: str, kind_param: str = "kind") -> str:
    """Over qa_pairs alias p: the pair has no signal of the kind, or one computed for other messages."""
    return (
        f"NOT EXISTS (SELECT 1 FROM {signals_table} AS s WHERE s.pair_id = p.id AND s.kind = :{kind_param} "
        f"AND {CURRENT.format(s='s', p='p.')})"
    )


def to_signal(row: Row) -> PairSignal:
    return PairSignal(
        row["pair_id"], row["training_sheet_id"], row["kind"], row["content_hash"], bool(row["flagged"]), row["reason"] or "",
        json.loads(row["details"]) if row["details"] else {}, row["score"], row["group_id"], row["source"] or "",
        row["computed_at"], row["pair_version"],
    )


class PairSignalsStore:
    def __init__(self, engine: SqlEngine, signals_table: str, pairs_table: str) -> None:
        self._engine = engine
        self.table = signals_table
        self._pairs = pairs_table

    def stale_pairs(self, training_sheet_id: str, kind: str, pair_id: str | None = None, limit: int | None = None) -> list[Row]:
        """The pairs of a sheet (or the one pair) whose `kind` signal is missing or was computed
        for other messages (with `limit`, at most that many: "is any stale?")."""
        one = " AND p.id = :pair_id" if pair_id else ""
        bounded = " LIMIT :limit" if limit is not None else ""
        return self._engine.query(
            f"SELECT p.id, p.messages, p.row_version FROM {self._pairs} AS p WHERE p.training_sheet_id = :training_sheet_id{one} "
            f"AND {stale_predicate(self.table)} ORDER BY p.ordinal{bounded}",
            {
                "training_sheet_id": training_sheet_id, "kind": kind, **({"pair_id": pair_id} if pair_id else {}),
                **({"limit": limit} if limit is not None else {}),
            },
        )

    def stale_count(self, training_sheet_id: str, kinds: list[str]) -> int:
        stale = " OR ".join(stale_predicate(self.table, f"kind_{i}") for i in range(len(kinds)))
        return int(
            self._engine.scalar(
                f"SELECT count(*) AS n FROM {self._pairs} AS p WHERE p.training_sheet_id = :training_sheet_id AND ({stale})",
                {"training_sheet_id": training_sheet_id, **{f"kind_{i}": kind for i, kind in enumerate(kinds)}},
            )
            or 0
        )

    def replace(self, kind: str, signals: Sequence[PairSignal]) -> int:
        """The pairs' `kind` signals become these: one DELETE and one INSERT per batch, each batch
        its own transaction, so a long refresh holds no lock on what the review card rewrites.
        Over more than one batch a reader may see some pairs' new signals beside others' old ones
        (a near-duplicate group half regrouped) until the last batch commits; each signal names
        the messages it was computed for, so none is taken as current when it is not."""
        return sum(self._replace_batch(kind, signals[start : start + WRITE_BATCH]) for start in range(0, len(signals), WRITE_BATCH))

    def _replace_batch(self, kind: str, batch: Sequence[PairSignal]) -> int:
        # Signals are derived from the messages, so two writers computed the same thing: when
        # another wrote some of these pairs first (the card's one-pair scan during a sheet's
        # job), writing ours over theirs once it committed is right, not a lost update.
        def write() -> int:
            with self._engine.transaction():
                self._engine.execute(
                    f"DELETE FROM {self.table} WHERE kind = :kind AND pair_id IN (SELECT explode(:pair_ids))",
                    {"kind": kind, "pair_ids": [s.pair_id for s in batch]},
                )
                return self._engine.insert_rows(self.table, _frame(batch))

        return retried_on_conflict(write)

    def for_pair(self, pair_id: str) -> list[tuple[PairSignal, bool]]:
        """The pair's signals, each with whether it was computed for the pair's messages as they are."""
        rows = self._engine.query(
            f"SELECT {', '.join('s.' + c for c in SIGNAL_COLUMNS)}, {CURRENT.format(s='s', p='p.')} AS is_current "
            f"FROM {self.table} AS s JOIN {self._pairs} AS p ON p.id = s.pair_id WHERE s.pair_id = :id ORDER BY s.kind",
            {"id": pair_id},
        )
        return [(to_signal(r), bool(r["is_current"])) for r in rows]

    def in_group(self, training_sheet_id: str, group_id: str) -> list[Row]:
        """The members of a near-duplicate group whose signal is current (their pair unchanged
        since): pair id, item ref and status, in queue order."""
        return self._engine.query(
            f"SELECT p.id, p.item_ref, p.status FROM {self.table} AS s JOIN {self._pairs} AS p ON p.id = s.pair_id "
            "WHERE s.training_sheet_id = :training_sheet_id AND s.kind = 'duplicate' AND s.group_id = :group_id AND s.flagged "
            f"AND {CURRENT.format(s='s', p='p.')} ORDER BY p.ordinal",
            {"training_sheet_id": training_sheet_id, "group_id": group_id},
        )

    def flagged_counts(self, training_sheet_id: str) -> dict[str, int]:
        """kind → pairs of the sheet with a flagged, current signal of that kind."""
        rows = self._engine.query(
            f"SELECT s.kind, count(*) AS n FROM {self.table} AS s JOIN {self._pairs} AS p ON p.id = s.pair_id "
            f"WHERE s.training_sheet_id = :training_sheet_id AND s.flagged AND {CURRENT.format(s='s', p='p.')} "
            "GROUP BY s.kind",
            {"training_sheet_id": training_sheet_id},
        )
        return {r["kind"]: int(r["n"]) for r in rows}

    def execute(self, sql: str, params: dict[str, Any]) -> int:
        """A set-based statement that writes signals in the warehouse (services/review/pii_signals.py)."""
        return self._engine.execute(sql, params)


def _frame(signals: Sequence[PairSignal]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pair_id": [s.pair_id for s in signals],
            "training_sheet_id": [s.training_sheet_id for s in signals],
            "kind": [s.kind for s in signals],
            "content_hash": [s.content_hash for s in signals],
            "flagged": [s.flagged for s in signals],
            "score": pd.array([s.score for s in signals], dtype="Float64"),
            "reason": [s.reason for s in signals],
            "details": [s.details_json() for s in signals],
            "group_id": [s.group_id for s in signals],
            "source": [s.source for s in signals],
            "computed_at": pd.to_datetime([s.computed_at for s in signals], utc=True),
            "pair_version": pd.array([s.pair_version for s in signals], dtype="Int64"),
        }
    )
