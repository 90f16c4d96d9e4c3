"""The `qa_pairs` table: bulk inserts for generation; the review queue and review writes."""

from __future__ import annotations

from typing import Any

import pandas as pd

from data_access.sql.engine import Row, SqlEngine
from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import PairStatus, QaPair, messages_from_json
from services.core.domain.review import PairReviewState, QueueFilter, ReviewerCount
from services.core.governance import usable_for_sql

PAIR_COLUMNS = (
    "id, training_sheet_id, sheet_id, item_ref, ordinal, label_type, messages, original_response, media_refs, "
    "canonical_label_id, status, labeling_mode, allowed_uses, prohibited_uses, usage_reason, data_classification, "
    "ai_confidence, quality_score, generation_error, reviewed_by, reviewed_at, review_notes, updated_at, row_version, feedback_id"
)
# Columns generation writes; the order of a generated frame.
INSERT_COLUMNS = (
    "id", "training_sheet_id", "sheet_id", "item_ref", "ordinal", "label_type", "messages", "original_response",
    "media_refs", "canonical_label_id", "status", "labeling_mode", "allowed_uses", "prohibited_uses", "usage_reason",
    "data_classification", "ai_confidence", "generation_error", "prompt_tokens", "completion_tokens", "latency_ms",
    "created_at", "updated_at", "row_version",
)
# Written when a generated frame carries them: which Example Store examples the item's prompt held.
OPTIONAL_INSERT_COLUMNS = ("few_shot_example_ids",)


LIKE_ESCAPE = "!"

# A pair is pre-approved while it stands as it arrived: labeled from a canonical label at
# generation and not reviewed since (a reviewer's later decision makes it theirs).
PRE_APPROVED = "{p}status = 'labeled' AND {p}reviewed_by IS NULL AND {p}labeling_mode = 'canonical'"
# The progress block's counts. Its branches add up by construction: labeled = pre-approved
# (canonical or a trusted source column) + approved in review (reviewed_by set), and
# needs review = unlabeled + rejected + flagged.
COUNT_NAMES = ("total", "unlabeled", "labeled", "rejected", "flagged", "canonical", "from_source_column")
PAIR_COUNTS = (
    "count(*) AS total, count(*) FILTER (WHERE status = 'unlabeled') AS unlabeled, "
    "count(*) FILTER (WHERE status = 'labeled') AS labeled, count(*) FILTER (WHERE status = 'rejected') AS rejected, "
    "count(*) FILTER (WHERE status = 'flagged') AS flagged, "
    f"count(*) FILTER (WHERE {PRE_APPROVED.format(p='')}) AS canonical, "
    "count(*) FILTER (WHERE status = 'labeled' AND reviewed_by IS NULL AND labeling_mode <> 'canonical') AS from_source_column"
)

# The pair carries a flagged signal of kind :signal computed for its messages as they are now
# (a stale one, whose pair changed since, does not count): its row unchanged since, or its
# messages (services/review/pair_signals_store.py: CURRENT). Unqualified, `id` and `messages`
# resolve to qa_pairs: pair_signals has neither column.
SIGNAL_FLAGGED = (
    "EXISTS (SELECT 1 FROM {signals} AS sig WHERE sig.pair_id = {p}id AND sig.kind = :signal AND sig.flagged "
    "AND (sig.pair_version = {p}row_version OR sig.content_hash = sha2(coalesce({p}messages, ''), 256)))"
)

# A pair's version check as a scalar subquery on its id: DuckDB looks a row up by its primary
# key only when the id is the scan's sole filter (`AND row_version = :v` makes it scan the whole
# table, ~6 ms at 100k pairs instead of ~1.4 ms); Databricks takes scalar subqueries in UPDATE.
_VERSION_CHECK = "id = :id AND :read_version = (SELECT c.row_version FROM {table} AS c WHERE c.id = :id)"


def escaped_like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return f"%{text}%"


def queue_predicate(training_sheet_id: str, queue: QueueFilter, alias: str = "", signals_table: str = "") -> tuple[str, dict[str, Any]]:
    """The WHERE condition of a filtered queue. Clauses are constants chosen by which filters
    are set; every value is a bound parameter. A filter on a LABEL signal needs `signals_table`."""
    p = f"{alias}." if alias else ""
    clauses = [f"{p}training_sheet_id = :training_sheet_id"]
    params: dict[str, Any] = {"training_sheet_id": training_sheet_id}
    if queue.statuses:
        clauses.append(f"array_contains(:statuses, {p}status)")
        params["statuses"] = list(queue.statuses)
    if queue.modes:
        clauses.append(f"array_contains(:modes, {p}labeling_mode)")
        params["modes"] = list(queue.modes)
    if queue.confidence_min is not None:
        clauses.append(f"{p}ai_confidence >= :confidence_min")
        params["confidence_min"] = float(queue.confidence_min)
    if queue.confidence_max is not None:
        clauses.append(f"{p}ai_confidence <= :confidence_max")
        params["confidence_max"] = float(queue.confidence_max)
    if queue.pre_approved:
        clauses.append(PRE_APPROVED.format(p=p))
    if queue.from_feedback:
        clauses.append(f"{p}feedback_id IS NOT NULL")
    # "Usable for U" is the dual gate (approved AND U permitted), never governance alone. When
    # the statuses chosen leave out 'labeled', the gate's answer is known without reading the
    # pairs' use lists (the widest columns a queue filters on): no pair passes it.
    gate_closed = bool(queue.statuses) and PairStatus.LABELED.value not in queue.statuses
    if queue.permitted_use:
        clauses.append("FALSE" if gate_closed else usable_for_sql(alias, "permitted_use"))
        if not gate_closed:
            params["permitted_use"] = queue.permitted_use
    if queue.prohibited_use and not gate_closed:
        clauses.append("NOT " + usable_for_sql(alias, "prohibited_use"))
        params["prohibited_use"] = queue.prohibited_use
    if queue.data_classification:
        clauses.append(f"{p}data_classification = :data_classification")
        params["data_classification"] = queue.data_classification
    if queue.search.strip():
        clauses.append(
            f"({p}messages ILIKE :search ESCAPE '{LIKE_ESCAPE}' OR {p}item_ref ILIKE :search ESCAPE '{LIKE_ESCAPE}')"
        )
        params["search"] = escaped_like(queue.search.strip())
    if queue.signal:
        if not signals_table:
            raise ValueError("A queue filtered on a signal needs the pair_signals table.")
        clauses.append(SIGNAL_FLAGGED.format(signals=signals_table, p=p))
        params["signal"] = queue.signal
    return " AND ".join(clauses), params


def to_pair(row: Row) -> QaPair:
    return QaPair(
        id=row["id"], training_sheet_id=row["training_sheet_id"], sheet_id=row["sheet_id"], item_ref=row["item_ref"],
        ordinal=row["ordinal"], label_type=row["label_type"] or "", messages=messages_from_json(row["messages"]),
        status=row["status"], labeling_mode=row["labeling_mode"],
        constraints=UsageConstraints(
            tuple(row["allowed_uses"] or ()), tuple(row["prohibited_uses"] or ()), row["usage_reason"] or "",
            row["data_classification"] or "internal",
        ),
        original_response=row["original_response"], media_refs=tuple(row["media_refs"] or ()),
        canonical_label_id=row["canonical_label_id"], ai_confidence=row["ai_confidence"],
        quality_score=row["quality_score"], generation_error=row["generation_error"], reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"], review_notes=row["review_notes"], updated_at=row["updated_at"],
        row_version=row["row_version"], feedback_id=row.get("feedback_id"),
    )


class QaPairsStore:
    def __init__(self, engine: SqlEngine, table: str, signals_table: str = "") -> None:
        self._engine = engine
        self.table = table
        self._signals = signals_table  # pair_signals, for queues filtered on a LABEL signal

    def insert_frame(self, frame: pd.DataFrame) -> int:
        return self._engine.insert_rows(self.table, frame[[*INSERT_COLUMNS, *(c for c in OPTIONAL_INSERT_COLUMNS if c in frame.columns)]])

    def existing_refs(self, training_sheet_id: str) -> set[str]:
        rows = self._engine.query(
            f"SELECT item_ref FROM {self.table} WHERE training_sheet_id = :id", {"id": training_sheet_id}
        )
        return {r["item_ref"] for r in rows}

    def get(self, pair_id: str) -> QaPair | None:
        row = self._engine.query_one(f"SELECT {PAIR_COLUMNS} FROM {self.table} WHERE id = :id", {"id": pair_id})
        return to_pair(row) if row else None

    def first(self, training_sheet_id: str, limit: int) -> list[QaPair]:
        rows = self._engine.query(
            f"SELECT {PAIR_COLUMNS} FROM {self.table} WHERE training_sheet_id = :id ORDER BY ordinal LIMIT :n",
            {"id": training_sheet_id, "n": limit},
        )
        return [to_pair(r) for r in rows]

    def status_counts(self, training_sheet_id: str) -> dict[str, Any]:
        row = self._engine.query_one(
            f"SELECT {PAIR_COUNTS} FROM {self.table} WHERE training_sheet_id = :id", {"id": training_sheet_id}
        ) or {}
        return {k: int(v or 0) for k, v in row.items()}


    # -- what generation reused --------------------------------------------------------
    def pre_approved(self, training_sheet_id: str, labels_table: str, limit: int, since: Any = None, newest_first: bool = False) -> list[Row]:
        """The pairs that arrived labeled from a canonical label, with who last changed that
        label and when; with `since`, only those whose label changed after it."""
        order = "l.last_modified_at DESC, p.ordinal" if newest_first else "p.ordinal"
        return self._engine.query(
            "SELECT p.id, p.item_ref, p.label_type, p.canonical_label_id, p.status, p.allowed_uses, p.prohibited_uses, "
            "p.usage_reason, p.data_classification, l.last_modified_by, l.last_modified_at "
            f"FROM {self.table} AS p LEFT JOIN {labels_table} AS l ON l.id = p.canonical_label_id "
            f"WHERE p.training_sheet_id = :id AND p.labeling_mode = 'canonical' AND {_CHANGED_SINCE} ORDER BY {order} LIMIT :n",
            {"id": training_sheet_id, "n": limit, "since": since},
        )

    def count_pre_approved(self, training_sheet_id: str, labels_table: str, since: Any = None) -> tuple[int, int]:
        """(pairs that arrived pre-approved, of them those whose label changed after `since`)."""
        row = self._engine.query_one(
            f"SELECT count(*) AS reused, count(*) FILTER (WHERE {_CHANGED_SINCE}) AS changed "
            f"FROM {self.table} AS p LEFT JOIN {labels_table} AS l ON l.id = p.canonical_label_id "
            "WHERE p.training_sheet_id = :id AND p.labeling_mode = 'canonical'",
            {"id": training_sheet_id, "since": since},
        ) or {}
        return int(row.get("reused") or 0), int(row.get("changed") or 0)

    # -- the review queue ----------------------------------------------------------------
    def queue_page(self, training_sheet_id: str, queue: QueueFilter, offset: int, limit: int) -> tuple[list[QaPair], int]:
        """One page of the filtered queue in ordinal order, and how many pairs the queue holds,
        in one statement: the filter is evaluated once into the ordinals it matches (narrow
        integers), which both the count and the page's sort read; only the page's own rows are
        then read whole (ordinals are unique within a Training Sheet)."""
        where, params = queue_predicate(training_sheet_id, queue, signals_table=self._signals)
        rows = self._engine.query(
            f"WITH matching AS (SELECT ordinal FROM {self.table} WHERE {where}) "
            f"SELECT {_qualified('p')}, (SELECT count(*) FROM matching) AS queue_total FROM {self.table} AS p "
            "JOIN (SELECT ordinal FROM matching ORDER BY ordinal LIMIT :page_size OFFSET :page_offset) AS page "
            "ON p.ordinal = page.ordinal WHERE p.training_sheet_id = :training_sheet_id ORDER BY p.ordinal",
            {**params, "page_size": limit, "page_offset": offset},
        )
        if not rows:  # past the end (or an empty queue): the count alone
            return [], self.queue_count(training_sheet_id, queue)
        return [to_pair(r) for r in rows], int(rows[0]["queue_total"])

    def queue_count(self, training_sheet_id: str, queue: QueueFilter) -> int:
        where, params = queue_predicate(training_sheet_id, queue, signals_table=self._signals)
        return int(self._engine.scalar(f"SELECT count(*) AS n FROM {self.table} WHERE {where}", params) or 0)

    def queue_position(self, training_sheet_id: str, queue: QueueFilter, ordinal: int) -> int:
        """How many pairs of the queue come before this ordinal (a 0-based position)."""
        where, params = queue_predicate(training_sheet_id, queue, signals_table=self._signals)
        return int(
            self._engine.scalar(f"SELECT count(*) AS n FROM {self.table} WHERE {where} AND ordinal < :ordinal", {**params, "ordinal": ordinal})
            or 0
        )

    def queue_after(self, training_sheet_id: str, queue: QueueFilter, ordinal: int) -> QaPair | None:
        """The queue's first pair after `ordinal` (-1: the first of all), in one query."""
        where, params = queue_predicate(training_sheet_id, queue, signals_table=self._signals)
        row = self._engine.query_one(
            f"SELECT {PAIR_COLUMNS} FROM {self.table} WHERE {where} AND ordinal > :ordinal ORDER BY ordinal LIMIT 1",
            {**params, "ordinal": ordinal},
        )
        return to_pair(row) if row else None

    def queue_before(self, training_sheet_id: str, queue: QueueFilter, ordinal: int) -> QaPair | None:
        where, params = queue_predicate(training_sheet_id, queue, signals_table=self._signals)
        row = self._engine.query_one(
            f"SELECT {PAIR_COLUMNS} FROM {self.table} WHERE {where} AND ordinal < :ordinal ORDER BY ordinal DESC LIMIT 1",
            {**params, "ordinal": ordinal},
        )
        return to_pair(row) if row else None

    def reviewer_counts(self, training_sheet_id: str) -> list[ReviewerCount]:
        rows = self._engine.query(
            "SELECT reviewed_by, count(*) FILTER (WHERE status = 'labeled') AS labeled, "
            "count(*) FILTER (WHERE status = 'rejected') AS rejected, count(*) FILTER (WHERE status = 'flagged') AS flagged "
            f"FROM {self.table} WHERE training_sheet_id = :id AND reviewed_by IS NOT NULL "
            "GROUP BY reviewed_by ORDER BY count(*) DESC, reviewed_by",
            {"id": training_sheet_id},
        )
        return [ReviewerCount(r["reviewed_by"], int(r["labeled"]), int(r["rejected"]), int(r["flagged"])) for r in rows]

    # -- review writes -------------------------------------------------------------------
    def write_review(self, pair_id: str, read_version: int, state: PairReviewState, constraints: UsageConstraints | None = None) -> bool:
        """Set a pair's review fields (and, when given, its constraints) if it is still at
        `read_version`; False if someone changed it. A state without messages (an action that
        keeps the response) leaves them, the widest column, as they are."""
        governance = _CONSTRAINT_SET if constraints is not None else ""
        response = "messages = :messages, original_response = :original_response, " if state.messages is not None else ""
        return self._engine.execute(
            f"UPDATE {self.table} SET status = :status, {response}"
            f"canonical_label_id = :canonical_label_id, reviewed_by = :reviewed_by, reviewed_at = :reviewed_at, {governance}"
            "review_notes = :review_notes, updated_at = current_timestamp(), row_version = row_version + 1 "
            f"WHERE {_VERSION_CHECK.format(table=self.table)}",
            {
                "id": pair_id, "read_version": read_version, "status": state.status, "messages": state.messages,
                "original_response": state.original_response, "canonical_label_id": state.canonical_label_id,
                "reviewed_by": state.reviewed_by, "reviewed_at": state.reviewed_at, "review_notes": state.review_notes,
                **(_constraint_params(constraints) if constraints is not None else {}),
            },
        ) == 1

    def write_constraints(self, pair_id: str, read_version: int, constraints: UsageConstraints) -> bool:
        return self._engine.execute(
            f"UPDATE {self.table} SET {_CONSTRAINT_SET}updated_at = current_timestamp(), "
            f"row_version = row_version + 1 WHERE {_VERSION_CHECK.format(table=self.table)}",
            {"id": pair_id, "read_version": read_version, **_constraint_params(constraints)},
        ) == 1

    def bulk_reject(self, training_sheet_id: str, queue: QueueFilter, user: str, at: Any, note: str | None) -> int:
        """Reject every undecided pair of the filtered queue, in one statement."""
        where, params = queue_predicate(training_sheet_id, queue, signals_table=self._signals)
        return self._engine.execute(
            f"UPDATE {self.table} SET status = 'rejected', reviewed_by = :user, reviewed_at = :at, review_notes = :note, "
            f"updated_at = :at, row_version = row_version + 1 WHERE {where} AND status = 'unlabeled'",
            {**params, "user": user, "at": at, "note": note},
        )

    def count_undecided(self, training_sheet_id: str, queue: QueueFilter) -> int:
        where, params = queue_predicate(training_sheet_id, queue, signals_table=self._signals)
        return int(
            self._engine.scalar(f"SELECT count(*) AS n FROM {self.table} WHERE {where} AND status = 'unlabeled'", params) or 0
        )

    def count_linked(self, canonical_label_id: str, except_pair_id: str) -> int:
        """Pairs (in any Training Sheet) that point at a label, besides one."""
        return int(
            self._engine.scalar(
                f"SELECT count(*) AS n FROM {self.table} WHERE canonical_label_id = :label_id AND id <> :pair_id",
                {"label_id": canonical_label_id, "pair_id": except_pair_id},
            )
            or 0
        )


_CHANGED_SINCE = "(CAST(:since AS TIMESTAMP) IS NULL OR l.last_modified_at > :since)"

_CONSTRAINT_SET = (
    "allowed_uses = :allowed_uses, prohibited_uses = :prohibited_uses, usage_reason = :usage_reason, "
    "data_classification = :data_classification, "
)


def _constraint_params(constraints: UsageConstraints) -> dict[str, Any]:
    return {
        "allowed_uses": list(constraints.allowed_uses), "prohibited_uses": list(constraints.prohibited_uses),
        "usage_reason": constraints.usage_reason, "data_classification": str(constraints.data_classification),
    }


def _qualified(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in PAIR_COLUMNS.split(","))
