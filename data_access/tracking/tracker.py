"""The seam for experiment tracking and the model registry (MLflow on both backends).

A training run is one tracked run: its parameters, the loss per step, the exported sets as
dataset inputs (with their digests) and files, the evaluation metrics and the model. A model
version is registered only when everything else succeeded, and gets an alias.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class TrackingError(RuntimeError):
    """The tracking server or registry refused something; the message says what."""


class RunEnd(StrEnum):
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"  # cancelled


@dataclass(frozen=True)
class TrackedRun:
    experiment_id: str
    run_id: str


@dataclass(frozen=True)
class DatasetRecord:
    name: str
    context: str  # training, validation or evaluation: how the run used it
    source: str  # where it lives (a /Volumes path)
    digest: str  # of the file's content
    rows: int
    local_file: Path | None = None  # when this process can read it, it is logged as a file too


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    alias: str
    source: str


class ExperimentTracker(ABC):
    tracking_uri: str  # where runs live, for what must log there from another process (DSPy's traces)

    @abstractmethod
    def start_run(self, experiment: str, run_name: str, tags: Mapping[str, str]) -> TrackedRun: ...

    @abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def log_step(self, run_id: str, key: str, value: float, step: int) -> None: ...

    @abstractmethod
    def log_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None: ...

    @abstractmethod
    def log_datasets(self, run_id: str, datasets: list[DatasetRecord]) -> None: ...

    @abstractmethod
    def log_file(self, run_id: str, local_file: Path, artifact_path: str) -> None: ...

    @abstractmethod
    def log_model(self, run_id: str, model_dir: Path, max_new_tokens: int) -> str:
        """Log a transformers directory as the run's chat model (answering at most `max_new_tokens`
        unless a caller asks otherwise); returns its source URI for registering."""

    @abstractmethod
    def register(self, run_id: str, source: str, name: str, alias: str, tags: Mapping[str, str]) -> RegisteredVersion: ...

    @abstractmethod
    def delete_version(self, name: str, version: str) -> None:
        """Undo a registration whose run could not be recorded, so no half-registered model stays."""

    @abstractmethod
    def end_run(self, run_id: str, end: RunEnd) -> None: ...

    @abstractmethod
    def run_url(self, experiment_id: str, run_id: str) -> str:
        """Where a person sees the run ("View in MLflow")."""

    @property
    @abstractmethod
    def registry_name_prefix(self) -> str:
        """Prepended to a model name: Unity Catalog names are catalog.schema.model."""
