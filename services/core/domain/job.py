"""A job run: one piece of long work (generation, export, training, optimization) and how far it got."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the process running it stopped (crash, restart, deploy)


UNFINISHED = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
RESUMABLE = frozenset({JobStatus.INTERRUPTED, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True)
class JobRun:
    id: str
    job_type: str
    status: JobStatus
    params: dict[str, Any]
    progress: float = 0.0  # 0..1
    processed_items: int = 0
    total_items: int | None = None  # None until the work has counted its items
    result: dict[str, Any] | None = None
    error: str | None = None
    cancel_requested: bool = False
    training_sheet_id: str | None = None
    target_id: str | None = None
    created_by: str = ""
    cancelled_by: str | None = None  # who asked it to stop (last cancel)
    resumed_by: str | None = None  # who ran it again (last resume): its work ran with their credentials
    resumed_at: datetime | None = None
    heartbeat_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def is_finished(self) -> bool:
        """Nothing will change without someone acting: an interrupted job waits for Resume."""
        return self.status not in UNFINISHED

    @property
    def can_resume(self) -> bool:
        return self.status in RESUMABLE
