"""MLflow through its client, never its global state: jobs run in threads, and each tracker
carries its own tracking and registry URIs.

Locally: a sqlite store and artifacts under WORKBENCH_HOME, with MLflow's own registry in the
same store. On Databricks: the workspace's tracking server and the Unity Catalog registry.
mlflow takes about 2 s to import, so it is imported on first use.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from data_access.tracking.tracker import (
    DatasetRecord,
    ExperimentTracker,
    RegisteredVersion,
    RunEnd,
    TrackedRun,
    TrackingError,
)

# Read as a file, never imported: MLflow runs it when loading the model ("models from code").
CHAT_MODEL_FILE = Path(__file__).resolve().parents[1] / "training" / "chat_model.py"
# What a registered model needs to load anywhere; torch is the CPU build the laptop pins.
MODEL_REQUIREMENTS = ("mlflow==3.17.2", "torch==2.13.0", "transformers==5.24.0", "safetensors==0.8.0", "tokenizers==0.23.3")
REGISTRATION_WAIT_S = 300  # Unity Catalog copies the model's files before the version is READY
_REGISTRATION_POLL_S = 2.0
MAX_PARAM_CHARS = 6000  # MLflow's limit on a parameter value


def _quiet_mlflow() -> None:
    # Nothing leaves loopback on a laptop (DESIGN invariant 11): no usage telemetry.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")


class MlflowTracker(ExperimentTracker):
    def __init__(self, tracking_uri: str, registry_uri: str, *, ui_url: str, artifact_root: str | None = None, name_prefix: str = "") -> None:
        _quiet_mlflow()
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        self._ui_url = ui_url.rstrip("/")
        self._artifact_root = artifact_root
        self._name_prefix = name_prefix
        self._client_instance: Any = None

    @property
    def _client(self) -> Any:
        if self._client_instance is None:
            from mlflow import MlflowClient

            self._client_instance = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        return self._client_instance

    @property
    def registry_name_prefix(self) -> str:
        return self._name_prefix

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, experiment: str, run_name: str, tags: Mapping[str, str]) -> TrackedRun:
        experiment_id = self._experiment_id(experiment)
        run = self._client.create_run(experiment_id, run_name=run_name, tags=dict(tags))
        return TrackedRun(experiment_id, run.info.run_id)

    def _experiment_id(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        found = self._client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = f"{self._artifact_root.rstrip('/')}/{name}" if self._artifact_root else None
        try:
            return self._client.create_experiment(name, artifact_location=location)
        except MlflowException:  # created by another thread or process a moment ago
            found = self._client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        values = [Param(k, v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in params.items()]
        self._client.log_batch(run_id, params=[Param(p.key, p.value[:MAX_PARAM_CHARS]) for p in values])

    def log_step(self, run_id: str, key: str, value: float, step: int) -> None:
        self._client.log_metric(run_id, key, value, step=step)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])

    def log_datasets(self, run_id: str, datasets: list[DatasetRecord]) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        inputs = [
            DatasetInput(
                Dataset(
                    name=d.name, digest=d.digest, source_type="uc_volume" if d.source.startswith("/Volumes/") else "local",
                    source=json.dumps({"path": d.source}), profile=json.dumps({"num_rows": d.rows}),
                ),
                tags=[InputTag("mlflow.data.context", d.context)],
            )
            for d in datasets
        ]
        self._client.log_inputs(run_id, datasets=inputs)
        for dataset in datasets:
            if dataset.local_file is not None:
                self.log_file(run_id, dataset.local_file, "datasets")

    def log_file(self, run_id: str, local_file: Path, artifact_path: str) -> None:
        self._client.log_artifact(run_id, str(local_file), artifact_path)

    def log_model(self, run_id: str, model_dir: Path, max_new_tokens: int) -> str:
        import mlflow.pyfunc
        from mlflow.models import ModelSignature
        from mlflow.types.schema import Array, ColSpec, Object, ParamSchema, ParamSpec, Property, Schema

        message = Object([Property("role", "string"), Property("content", "string")])
        signature = ModelSignature(
            inputs=Schema([ColSpec(Array(message), "messages")]), outputs=Schema([ColSpec("string")]),
            params=ParamSchema([ParamSpec("max_new_tokens", "long", max_new_tokens)]),
        )
        artifact_uri = self._client.get_run(run_id).info.artifact_uri
        local_root = _local_dir(artifact_uri)

        def save(path: Path) -> None:
            mlflow.pyfunc.save_model(
                path=str(path), python_model=str(CHAT_MODEL_FILE), artifacts={"model_dir": str(model_dir)},
                signature=signature, pip_requirements=list(MODEL_REQUIREMENTS), model_config={"max_new_tokens": max_new_tokens},
            )

        if local_root is not None:
            # A local artifact store is a directory: saving into it once spares copying ~0.5 GB twice.
            save(local_root / "model")
        else:
            with tempfile.TemporaryDirectory(prefix="workbench-model-") as scratch:
                save(Path(scratch) / "model")
                self._client.log_artifacts(run_id, str(Path(scratch) / "model"), "model")
        return f"{artifact_uri}/model"

    def end_run(self, run_id: str, end: RunEnd) -> None:
        self._client.set_terminated(run_id, str(end))

    # -- registry --------------------------------------------------------------------------
    def register(self, run_id: str, source: str, name: str, alias: str, tags: Mapping[str, str]) -> RegisteredVersion:
        from mlflow.exceptions import MlflowException

        try:
            try:
                self._client.create_registered_model(name)
            except MlflowException as error:
                if "RESOURCE_ALREADY_EXISTS" not in str(error.error_code):
                    raise
            version = self._client.create_model_version(name, source, run_id=run_id, tags=dict(tags))
            self._await_ready(name, version.version)
        except MlflowException as error:
            raise TrackingError(f"Could not register {name}: {error.message}") from error
        try:
            self._client.set_registered_model_alias(name, alias, version.version)
        except MlflowException as error:
            self.delete_version(name, version.version)
            raise TrackingError(f"Could not set the alias '{alias}' on {name} version {version.version}: {error.message}") from error
        return RegisteredVersion(name, str(version.version), alias, source)

    def _await_ready(self, name: str, version: str) -> None:
        deadline = time.monotonic() + REGISTRATION_WAIT_S
        while True:
            status = str(self._client.get_model_version(name, version).status)
            if status.endswith("READY"):
                return
            if "FAILED" in status or time.monotonic() > deadline:
                self.delete_version(name, version)
                raise TrackingError(f"{name} version {version} did not become ready ({status}).")
            time.sleep(_REGISTRATION_POLL_S)

    def delete_version(self, name: str, version: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self._client.delete_model_version(name, version)
        except MlflowException as error:
            raise TrackingError(f"Could not remove {name} version {version}: {error.message}") from error

    def run_url(self, experiment_id: str, run_id: str) -> str:
        if self.tracking_uri == "databricks":
            return f"{self._ui_url}/ml/experiments/{experiment_id}/runs/{run_id}"
        return f"{self._ui_url}/#/experiments/{experiment_id}/runs/{run_id}"


def _local_dir(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    if parsed.scheme == "" and uri.startswith("/"):
        return Path(uri)
    return None
