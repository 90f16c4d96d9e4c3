"""LoRA fine-tuning in this process, on CPU: the laptop's trainer.

The volume paths of the spec are files in the local mirror. Two trainings may run at once (the
job runner runs two jobs at most): each takes about 1.5 GB and its own threads. They are not
queued behind each other here, because a training waiting inside its job would hold one of the
two job slots for as long as the other one trains, and hold up every generation meanwhile.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from data_access.training import lora_job
from data_access.training.base_model import BASE_MODEL_NAME, BaseModelUnavailable, prepared_base_model
from data_access.training.trainer import JobResult, Progress, Trainer, TrainingFailed, TrainingSpec
from data_access.volumes import LocalVolumeFiles


def default_threads() -> int:
    """Leave a core for the app: torch's threads spin while they wait, and with more threads than
    free cores a step took 10x longer here (30 s instead of 3 s, measured on a busy 2-core machine)."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


class LocalLoraTrainer(Trainer):
    def __init__(self, files: LocalVolumeFiles, model_cache: Path, threads: int | None = None) -> None:
        self._files = files
        self._model_cache = model_cache
        self._threads = threads or default_threads()

    @property
    def base_model(self) -> str:
        return BASE_MODEL_NAME

    def describe(self) -> str:
        return f"LoRA on {BASE_MODEL_NAME} in this app, on CPU ({self._threads} thread{'s' if self._threads > 1 else ''})"

    def train(self, spec: TrainingSpec, on_progress: Callable[[Progress], None], should_stop: Callable[[], bool]) -> JobResult:
        local = self._files.local_path
        try:
            files = lora_job.JobFiles(
                base_model=str(prepared_base_model(self._model_cache)),
                train_jsonl=str(local(spec.train_jsonl)),
                output_dir=str(local(spec.output_dir)),
                validation_jsonl=str(local(spec.validation_jsonl)) if spec.validation_jsonl else None,
                evaluation_jsonl=str(local(spec.evaluation_jsonl)) if spec.evaluation_jsonl else None,
            )
        except BaseModelUnavailable as error:
            raise TrainingFailed(str(error)) from error
        try:
            return lora_job.run(files, spec.hyperparameters, on_progress, should_stop, self._threads)
        except (OSError, ValueError) as error:
            raise TrainingFailed(str(error)) from error

    def local_file(self, path: str) -> Path | None:
        return self._files.local_path(path)

    def discard_merged(self, result: JobResult) -> None:
        if result.merged_dir:
            shutil.rmtree(result.merged_dir, ignore_errors=True)
