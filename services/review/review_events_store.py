"""The `review_events` table: every review action, single or bulk, and every undo."""

from __future__ import annotations

from data_access.sql.engine import Row, SqlEngine
from services.core.domain.review import BULK_ACTIONS, UNDOABLE, ReviewEvent

_COLUMNS = (
    "id, training_sheet_id, qa_pair_id, action, bulk_filter, affected_count, previous_state, new_status, note, "
    "actor, created_at, undone_at"
)
# What "Undo" may look at: single-pair actions and bulk ones (which it explains but cannot take back).
_UNDO_CANDIDATES = [str(a) for a in (*UNDOABLE, *BULK_ACTIONS)]


def _to_event(row: Row) -> ReviewEvent:
    return ReviewEvent(
        id=row["id"], training_sheet_id=row["training_sheet_id"], qa_pair_id=row["qa_pair_id"], action=row["action"],
        actor=row["actor"] or "", created_at=row["created_at"], new_status=row["new_status"], note=row["note"],
        bulk_filter=row["bulk_filter"],
        affected_count=int(row["affected_count"]) if row["affected_count"] is not None else None,
        previous_state=row["previous_state"], undone_at=row["undone_at"],
    )


class ReviewEventsStore:
    def __init__(self, engine: SqlEngine, table: str) -> None:
        self._engine = engine
        self._table = table

    def add(self, event: ReviewEvent) -> None:
        # created_at comes from the caller's clock in microseconds, so one reviewer's actions
        # keep their order even inside one transaction (where current_timestamp() is fixed).
        self._engine.execute(
            f"INSERT INTO {self._table} ({_COLUMNS}) VALUES (:id, :training_sheet_id, :qa_pair_id, :action, "
            ":bulk_filter, :affected_count, :previous_state, :new_status, :note, :actor, :created_at, NULL)",
            {
                "id": event.id, "training_sheet_id": event.training_sheet_id, "qa_pair_id": event.qa_pair_id,
                "action": event.action, "bulk_filter": event.bulk_filter, "affected_count": event.affected_count,
                "previous_state": event.previous_state, "new_status": event.new_status, "note": event.note,
                "actor": event.actor, "created_at": event.created_at,
            },
        )

    def last_undo_candidate(self, training_sheet_id: str, actor: str) -> ReviewEvent | None:
        """The actor's latest action in this Training Sheet that has not been undone."""
        row = self._engine.query_one(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE training_sheet_id = :training_sheet_id AND actor = :actor "
            "AND undone_at IS NULL AND array_contains(:actions, action) ORDER BY created_at DESC, id DESC LIMIT 1",
            {"training_sheet_id": training_sheet_id, "actor": actor, "actions": _UNDO_CANDIDATES},
        )
        return _to_event(row) if row else None

    def mark_undone(self, event_id: str) -> bool:
        return self._engine.execute(
            f"UPDATE {self._table} SET undone_at = current_timestamp() WHERE id = :id AND undone_at IS NULL", {"id": event_id}
        ) == 1

    def latest_for_pair(self, qa_pair_id: str) -> ReviewEvent | None:
        row = self._engine.query_one(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE qa_pair_id = :id ORDER BY created_at DESC, id DESC LIMIT 1",
            {"id": qa_pair_id},
        )
        return _to_event(row) if row else None

    def for_training_sheet(self, training_sheet_id: str, limit: int = 50) -> list[ReviewEvent]:
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE training_sheet_id = :id ORDER BY created_at DESC, id DESC LIMIT :n",
            {"id": training_sheet_id, "n": limit},
        )
        return [_to_event(r) for r in rows]

    def for_pair(self, qa_pair_id: str) -> list[ReviewEvent]:
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE qa_pair_id = :id ORDER BY created_at, id", {"id": qa_pair_id}
        )
        return [_to_event(r) for r in rows]
