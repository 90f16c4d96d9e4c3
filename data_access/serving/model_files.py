"""The files of a registered model version: the transformers directory its chat model loads.

A training run logs the model with its transformers directory as the artifact `model_dir`
(data_access/training/chat_model.py). Locally the registry's artifacts are a directory under
WORKBENCH_HOME and are read where they are (0.5 GB, no copy); from Databricks they are
downloaded into a scratch folder that lives as long as the `with` block.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_access.settings import Settings
from data_access.tracking.factory import local_tracking_uri
from data_access.tracking.mlflow_tracker import _local_dir

MODEL_DIR_ARTIFACT = "model_dir"  # the chat model's artifact key


class ModelFilesError(RuntimeError):
    """The registered version is not there, or its files cannot be read; the message says which."""


@dataclass(frozen=True)
class ModelVersionFiles:
    name: str
    version: str
    run_id: str | None
    source: str
    model_dir: Path  # a transformers directory: config, tokenizer and safetensors weights


class RegisteredModelFiles:
    def __init__(self, tracking_uri: str, registry_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri

    @contextmanager
    def open(self, name: str, version: str) -> Iterator[ModelVersionFiles]:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        try:
            found = client.get_model_version(name, version)
        except MlflowException as error:
            raise ModelFilesError(f"{name} version {version} is not in the model registry: {error.message}") from error
        local = _local_dir(found.source)
        if local is not None:
            yield self._checked(found, local / _model_dir_path(local / "MLmodel"))
            return
        from mlflow.artifacts import download_artifacts

        source = found.source.rstrip("/")
        with tempfile.TemporaryDirectory(prefix="workbench-model-files-") as scratch:
            try:
                mlmodel = download_artifacts(f"{source}/MLmodel", dst_path=scratch, tracking_uri=self.tracking_uri)
                relative = _model_dir_path(Path(mlmodel))
                path = download_artifacts(f"{source}/{relative}", dst_path=scratch, tracking_uri=self.tracking_uri)
            except MlflowException as error:
                raise ModelFilesError(f"Could not download the files of {name} version {version}: {error.message}") from error
            yield self._checked(found, Path(path))

    @staticmethod
    def _checked(found: Any, model_dir: Path) -> ModelVersionFiles:
        if not (model_dir / "config.json").is_file():
            raise ModelFilesError(
                f"{found.name} version {found.version} has no transformers directory at {model_dir} (was it logged by a training run?)."
            )
        return ModelVersionFiles(found.name, str(found.version), found.run_id, found.source, model_dir)


def model_files_for(settings: Settings) -> RegisteredModelFiles:
    """The same stores the tracker registers into (data_access.tracking.factory)."""
    if settings.is_databricks:
        return RegisteredModelFiles("databricks", "databricks-uc")
    uri = local_tracking_uri(settings.home)
    return RegisteredModelFiles(uri, uri)



def _model_dir_path(mlmodel: Path) -> str:
    """Where, inside the logged model, MLflow put the `model_dir` artifact (it keeps the folder's own name)."""
    from mlflow.models import Model

    try:
        artifacts = Model.load(str(mlmodel)).flavors["python_function"]["artifacts"]
        return str(artifacts[MODEL_DIR_ARTIFACT]["path"])
    except (OSError, KeyError, TypeError) as error:
        raise ModelFilesError(f"{mlmodel} does not describe a chat model with a {MODEL_DIR_ARTIFACT} artifact.") from error
