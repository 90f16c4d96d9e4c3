"""The seam for fine-tuning: one trainer (lora_job), run in this process or as a Databricks job.

A trainer reads the exported chat JSONL (train, validation) and the evaluation prompts from a
volume, reports progress after every step, stops between steps when asked, and returns what
it produced: the loss per step, the adapter and merged model, and the base and tuned models'
answers to the evaluation set (scoring them is the service's business).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from data_access.training.lora_job import Cancelled, Hyperparameters, JobResult, Progress

__all__ = ["Cancelled", "Hyperparameters", "JobResult", "Progress", "Trainer", "TrainingFailed", "TrainingSpec"]


class TrainingFailed(RuntimeError):
    """The training could not finish; the message says why in a person's words."""


@dataclass(frozen=True)
class TrainingSpec:
    attempt_id: str  # unique per attempt: names the submission, so a retried request never trains twice
    train_jsonl: str  # /Volumes/... paths, here and below
    output_dir: str
    hyperparameters: Hyperparameters
    validation_jsonl: str | None = None
    evaluation_jsonl: str | None = None
    tracking_run_id: str | None = None  # the MLflow run a remote trainer logs steps, files and model into


class Trainer(ABC):
    # True when the trainer logs the loss per step, the dataset files and the model into the
    # tracking run itself (a remote job holds the files; the app does not).
    logs_to_tracking_run: bool = False

    @property
    @abstractmethod
    def base_model(self) -> str:
        """What is fine-tuned, as a person reads it (and as the lineage records it)."""

    @abstractmethod
    def describe(self) -> str:
        """Where and how it trains, for the page."""

    def local_file(self, path: str) -> Path | None:
        """The file behind a volume path when this process can read it (to log it as a run artifact)."""
        return None

    def discard_merged(self, result: JobResult) -> None:  # noqa: B027 - a remote trainer's files stay on the volume
        """The merged model is in the tracking store once logged; a local copy need not stay (~0.5 GB)."""

    @abstractmethod
    def train(self, spec: TrainingSpec, on_progress: Callable[[Progress], None], should_stop: Callable[[], bool]) -> JobResult:
        """Train and answer the evaluation set; raises Cancelled or TrainingFailed."""
