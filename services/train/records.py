"""TRAIN's domain records: what a training run starts from, how it is configured, what it became."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.core.errors import ValidationError

# The CPU answers each evaluation pair twice (base and fine-tuned): ~2 s a pair on a laptop.
DEFAULT_EVALUATION_PAIRS = 32
MAX_EVALUATION_PAIRS = 500
_MODEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")  # valid in MLflow's registry and as a Unity Catalog name


class RunStatus(StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"  # to Databricks, not yet running there
    LOADING = "loading"
    TRAINING = "training"
    EVALUATING = "evaluating"
    REGISTERING = "registering"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # the app stopped while it ran; Resume trains again from the start


FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.INTERRUPTED})


@dataclass(frozen=True)
class EvaluationSource:
    """Where the evaluation set comes from: pairs of these Training Sheets that pass the
    evaluation gate and were not trained on (neither train nor validation)."""

    training_sheet_ids: tuple[str, ...]
    max_pairs: int = DEFAULT_EVALUATION_PAIRS
    seed: int = 42  # which pairs, when more qualify than max_pairs


@dataclass(frozen=True)
class TrainingInput:
    """One export, ready to train on: the JSONL files on a volume and exactly which pairs they hold."""

    export_id: str
    training_sheet_ids: tuple[str, ...]
    train_jsonl: str  # /Volumes/... path
    validation_jsonl: str | None
    train_pair_ids: tuple[str, ...]
    validation_pair_ids: tuple[str, ...]
    evaluation: EvaluationSource
    export_version: int | None = None
    # The export manifest's content hashes, when it has them; otherwise the files are hashed here.
    train_digest: str | None = None
    validation_digest: str | None = None

    def checked(self) -> TrainingInput:
        if not self.training_sheet_ids:
            raise ValidationError("Pick at least one Training Sheet to train on.", "training_sheet_ids")
        if not self.train_pair_ids:
            raise ValidationError("The export holds no training pairs: nothing passed both gates.", "train_pair_ids")
        if set(self.train_pair_ids) & set(self.validation_pair_ids):
            raise ValidationError("A pair cannot be in both the training and the validation split.", "validation_pair_ids")
        if self.validation_pair_ids and not self.validation_jsonl:
            raise ValidationError("The validation pairs have no JSONL file.", "validation_jsonl")
        return self


@dataclass(frozen=True)
class TrainingConfig:
    base_model: str = ""  # empty: the trainer's own (SmolLM2-135M-Instruct locally)
    model_name: str = ""  # the registered name; empty: made from the first Training Sheet's name
    epochs: int = 1
    max_steps: int = 0  # 0: every pair once per epoch
    batch_size: int = 8
    learning_rate: float = 1e-3  # LoRA on a small model: 1e-3 converged in 24 steps here
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    max_length: int = 256  # tokens per pair; longer pairs keep their start and end
    seed: int = 42
    max_new_tokens: int = 64  # for evaluation answers (bounded further by the longest expected answer)
    alias: str = "candidate"

    def checked(self) -> TrainingConfig:
        _within("epochs", self.epochs, 1, 20)
        _within("max_steps", self.max_steps, 0, 100_000)
        _within("batch_size", self.batch_size, 1, 64)
        _within("lora_rank", self.lora_rank, 1, 256)
        _within("lora_alpha", self.lora_alpha, 1, 1024)
        _within("max_length", self.max_length, 32, 8192)
        _within("max_new_tokens", self.max_new_tokens, 1, 1024)
        if not 0 < self.learning_rate <= 1:
            raise ValidationError("The learning rate must be above 0 and at most 1.", "learning_rate")
        if not 0 <= self.lora_dropout < 1:
            raise ValidationError("LoRA dropout must be at least 0 and below 1.", "lora_dropout")
        if self.model_name and not _MODEL_NAME.match(self.model_name):
            raise ValidationError("A model name is lowercase letters, digits and _ (starting with a letter, at most 63).", "model_name")
        if not _MODEL_NAME.match(self.alias):
            raise ValidationError("An alias is lowercase letters, digits and _ (e.g. candidate, champion).", "alias")
        return self

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _within(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValidationError(f"{name.replace('_', ' ').capitalize()} must be between {low:,} and {high:,}.", name)


def model_name_from(title: str) -> str:
    """A registered model name from a Training Sheet's name: 'Failure Risk - 7 Day' → failure_risk_7_day_lora."""
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    slug = slug if slug and slug[0].isalpha() else f"model_{slug}"
    return f"{slug[:57].rstrip('_')}_lora"


@dataclass(frozen=True)
class TrainingRun:
    """One row of model_training_lineage: a run, its outcome and where it came from."""

    id: str
    status: RunStatus
    job_id: str | None
    training_sheet_ids: tuple[str, ...]
    export_id: str | None
    export_version: str | None
    base_model: str
    config: dict[str, Any]
    train_pair_count: int
    val_pair_count: int
    eval_pair_count: int | None = None
    model_name: str | None = None
    model_version: str | None = None
    model_id: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    mlflow_experiment_id: str | None = None
    mlflow_run_id: str | None = None
    databricks_run_id: str | None = None
    error: str | None = None
    created_by: str = ""
    started_at: datetime | None = None
    completed_at: datetime | None = None
    trained_at: datetime | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True)
class LossPoint:
    step: int
    total_steps: int
    loss: float
    tokens: int
    elapsed_s: float


# Recent steps give the pace for the time left: the first steps also load and warm up.
ETA_WINDOW_STEPS = 10


@dataclass(frozen=True)
class RunProgress:
    run: TrainingRun
    points: tuple[LossPoint, ...]

    @property
    def step(self) -> int:
        return self.points[-1].step if self.points else 0

    @property
    def total_steps(self) -> int:
        return self.points[-1].total_steps if self.points else 0

    @property
    def eta_s(self) -> float | None:
        """Seconds of training left at the recent pace; None before two steps or once training is over."""
        if len(self.points) < 2 or self.run.status is not RunStatus.TRAINING:
            return None
        window = self.points[-ETA_WINDOW_STEPS:]
        pace = (window[-1].elapsed_s - window[0].elapsed_s) / (window[-1].step - window[0].step)
        return max(0.0, pace * (self.total_steps - self.step))
