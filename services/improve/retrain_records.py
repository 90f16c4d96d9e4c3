"""IMPROVE's retrain records: models with approved feedback-derived pairs waiting, the rules that
retrain them, and the retrains started."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RetrainStatus(StrEnum):
    EXPORTING = "exporting"  # the model's Training Sheets are being exported again
    TRAINING = "training"  # the training run is started; its own status says how it goes
    FAILED = "failed"  # the export or the start of the run failed; Resume tries again


@dataclass(frozen=True)
class WaitingModel:
    """A registered model whose Training Sheets hold approved feedback-derived pairs it never learned from."""

    model_name: str
    model_version: str  # its latest version, whose run a retrain repeats
    lineage_id: str
    pair_ids: tuple[str, ...]
    feedback_ids: tuple[str, ...]

    @property
    def pairs(self) -> int:
        return len(self.pair_ids)


@dataclass(frozen=True)
class RetrainRule:
    model_name: str
    min_pairs: int
    enabled: bool
    created_by: str
    created_at: datetime | None
    updated_by: str | None = None
    updated_at: datetime | None = None
    last_checked_at: datetime | None = None
    last_waiting_pairs: int | None = None
    last_check_note: str | None = None
    last_run_started_at: datetime | None = None
    last_retrain_id: str | None = None


@dataclass(frozen=True)
class Retrain:
    id: str
    model_name: str
    previous_lineage_id: str
    feedback_pair_ids: tuple[str, ...]
    feedback_ids: tuple[str, ...]
    export_id: str
    lineage_id: str | None
    job_id: str
    status: RetrainStatus
    error: str | None
    started_by: str
    started_by_rule: bool
    started_at: datetime | None
    run_status: str | None = None  # the training run's, once started
    model_version: str | None = None  # the version it registered, once it succeeded
