"""The `job_runs` table: one row per job, rewritten in place as the job moves on.

Two threads updating the same row at the same moment make DuckDB refuse the second
("TransactionContext Error: Conflict on update!", measured here) and Delta does the same, so
every write to one job's row takes that job's lock first: the job's thread, its heartbeat
and a Cancel click from a page never write the row at once within a process.
"""

from __future__ import annotations

import json
import threading
import zlib
from typing import Any

from data_access.sql.engine import Row, SqlEngine
from services.core.domain.job import JobRun, JobStatus

_COLUMNS = (
    "id, job_type, training_sheet_id, target_id, status, progress, processed_items, total_items, params, result, "
    "error, cancel_requested, created_by, heartbeat_at, started_at, completed_at, cancelled_by, resumed_by, resumed_at"
)
_UNFINISHED = "('queued', 'running')"
_RESUMABLE = "('interrupted', 'failed', 'cancelled')"
_STALE = "(heartbeat_at IS NULL OR heartbeat_at < timestampadd(SECOND, -:stale_after_s, current_timestamp()))"

# Striped rather than one lock per job: bounded memory however many jobs a process sees,
# and 64 stripes make two live jobs sharing one (a short wait, never a conflict) unlikely.
_LOCK_STRIPES = 64
_row_locks = tuple(threading.Lock() for _ in range(_LOCK_STRIPES))


def _row_lock(job_id: str) -> threading.Lock:
    return _row_locks[zlib.crc32(job_id.encode()) % _LOCK_STRIPES]


def _to_job(row: Row) -> JobRun:
    return JobRun(
        id=row["id"],
        job_type=row["job_type"],
        status=JobStatus(row["status"]),
        params=json.loads(row["params"] or "{}"),
        progress=float(row["progress"] or 0.0),
        processed_items=int(row["processed_items"] or 0),
        total_items=row["total_items"],
        result=json.loads(row["result"]) if row["result"] else None,
        error=row["error"],
        cancel_requested=bool(row["cancel_requested"]),
        training_sheet_id=row["training_sheet_id"],
        target_id=row["target_id"],
        created_by=row["created_by"] or "",
        cancelled_by=row["cancelled_by"],
        resumed_by=row["resumed_by"],
        resumed_at=row["resumed_at"],
        heartbeat_at=row["heartbeat_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
    )


class JobRunsStore:
    def __init__(self, engine: SqlEngine, table: str) -> None:
        self._engine = engine
        self._table = table

    # -- reading ---------------------------------------------------------------------
    def get(self, job_id: str) -> JobRun | None:
        row = self._engine.query_one(f"SELECT {_COLUMNS} FROM {self._table} WHERE id = :id", {"id": job_id})
        return _to_job(row) if row else None

    def recent(self, limit: int, training_sheet_id: str | None = None, job_type: str | None = None) -> list[JobRun]:
        # No created_at column: a queued job's first heartbeat is written when it is submitted.
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._table} "
            "WHERE (:training_sheet_id IS NULL OR training_sheet_id = :training_sheet_id) "
            "AND (:job_type IS NULL OR job_type = :job_type) "
            "ORDER BY coalesce(started_at, heartbeat_at) DESC, id LIMIT :limit",
            {"training_sheet_id": training_sheet_id, "job_type": job_type, "limit": limit},
        )
        return [_to_job(r) for r in rows]

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self._engine.scalar(f"SELECT cancel_requested FROM {self._table} WHERE id = :id", {"id": job_id}))

    def stale_unfinished(self, stale_after_s: int) -> list[str]:
        rows = self._engine.query(
            f"SELECT id FROM {self._table} WHERE status IN {_UNFINISHED} AND {_STALE} ORDER BY id",
            {"stale_after_s": stale_after_s},
        )
        return [r["id"] for r in rows]

    def interrupted_among(self, job_ids: list[str]) -> list[str]:
        rows = self._engine.query(
            f"SELECT id FROM {self._table} WHERE array_contains(:ids, id) AND status = 'interrupted' ORDER BY id",
            {"ids": job_ids},
        )
        return [r["id"] for r in rows]

    # -- writing ---------------------------------------------------------------------
    def insert(
        self, job_id: str, job_type: str, params: dict[str, Any], training_sheet_id: str | None, target_id: str | None, user: str
    ) -> None:
        with _row_lock(job_id):
            self._engine.execute(
                f"INSERT INTO {self._table} ({_COLUMNS}) VALUES (:id, :job_type, :training_sheet_id, :target_id, "
                "'queued', 0.0, 0, NULL, :params, NULL, NULL, false, :user, current_timestamp(), NULL, NULL, NULL, NULL, NULL)",
                {
                    "id": job_id,
                    "job_type": job_type,
                    "training_sheet_id": training_sheet_id,
                    "target_id": target_id,
                    "params": json.dumps(params),
                    "user": user,
                },
            )

    def claim(self, job_id: str) -> bool:
        """Queued → running; False when the job was cancelled (or claimed) meanwhile."""
        with _row_lock(job_id):
            changed = self._engine.execute(
                f"UPDATE {self._table} SET status = 'running', started_at = coalesce(started_at, current_timestamp()), "
                "heartbeat_at = current_timestamp() WHERE id = :id AND status = 'queued'",
                {"id": job_id},
            )
        return changed == 1

    def report_progress(self, job_id: str, processed: int, total: int | None, progress: float) -> None:
        with _row_lock(job_id):
            self._engine.execute(
                f"UPDATE {self._table} SET processed_items = :processed, total_items = :total, progress = :progress, "
                "heartbeat_at = current_timestamp() WHERE id = :id",
                {"id": job_id, "processed": processed, "total": total, "progress": progress},
            )

    def heartbeat(self, job_id: str) -> None:
        with _row_lock(job_id):
            self._engine.execute(
                f"UPDATE {self._table} SET heartbeat_at = current_timestamp() WHERE id = :id AND status IN {_UNFINISHED}",
                {"id": job_id},
            )

    def request_cancel(self, job_id: str, user: str) -> bool:
        """A queued job is cancelled at once; a running one is asked to stop. False if already finished."""
        with _row_lock(job_id):
            changed = self._engine.execute(
                f"UPDATE {self._table} SET cancel_requested = true, cancelled_by = :user, "
                "completed_at = CASE WHEN status = 'queued' THEN current_timestamp() ELSE completed_at END, "
                "status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END "
                f"WHERE id = :id AND status IN {_UNFINISHED}",
                {"id": job_id, "user": user},
            )
        return changed == 1

    def finish(
        self,
        job_id: str,
        status: JobStatus,
        processed: int,
        total: int | None,
        progress: float,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with _row_lock(job_id):
            self._engine.execute(
                f"UPDATE {self._table} SET status = :status, processed_items = :processed, total_items = :total, "
                "progress = :progress, result = :result, error = :error, heartbeat_at = current_timestamp(), "
                "completed_at = current_timestamp() WHERE id = :id",
                {
                    "id": job_id,
                    "status": status.value,
                    "processed": processed,
                    "total": total,
                    "progress": progress,
                    "result": None if result is None else json.dumps(result),
                    "error": error,
                },
            )

    def requeue(self, job_id: str, user: str) -> bool:
        """Interrupted, failed or cancelled → queued again, keeping its params and progress."""
        with _row_lock(job_id):
            changed = self._engine.execute(
                f"UPDATE {self._table} SET status = 'queued', cancel_requested = false, result = NULL, error = NULL, "
                "completed_at = NULL, heartbeat_at = current_timestamp(), resumed_by = :user, resumed_at = current_timestamp() "
                f"WHERE id = :id AND status IN {_RESUMABLE}",
                {"id": job_id, "user": user},
            )
        return changed == 1

    def mark_interrupted(self, job_ids: list[str], stale_after_s: int) -> None:
        """Checks staleness again in the statement, so a job that just beat is left alone."""
        self._engine.execute(
            f"UPDATE {self._table} SET status = 'interrupted' "
            f"WHERE array_contains(:ids, id) AND status IN {_UNFINISHED} AND {_STALE}",
            {"ids": job_ids, "stale_after_s": stale_after_s},
        )
