"""The trainer for this backend: LoRA in this process on a laptop, a Databricks job on Databricks."""

from __future__ import annotations

from data_access.backends import Backend
from data_access.training.trainer import Trainer


def open_trainer(backend: Backend) -> Trainer:
    settings = backend.settings
    if settings.is_databricks:
        from data_access.databricks_client import workspace_client
        from data_access.training.databricks_trainer import DatabricksJobTrainer

        return DatabricksJobTrainer(
            workspace_client(backend.user), backend.files, base_model=settings.train_base_model, accelerator=settings.train_accelerator
        )
    from data_access.training.local_trainer import LocalLoraTrainer
    from data_access.volumes import LocalVolumeFiles

    if not isinstance(backend.files, LocalVolumeFiles):
        raise TypeError("The local trainer reads the volume mirror on this machine.")
    return LocalLoraTrainer(backend.files, settings.model_cache, settings.train_threads or None)
