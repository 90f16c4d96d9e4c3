"""The tracker for this backend: a sqlite store under WORKBENCH_HOME, or the Databricks workspace."""

from __future__ import annotations

import threading
from pathlib import Path

from data_access.settings import Settings
from data_access.tracking.mlflow_tracker import MlflowTracker
from data_access.tracking.tracker import ExperimentTracker

LOCAL_EXPERIMENT = "vital-workbench-training"
DATABRICKS_EXPERIMENT = "/Shared/vital-workbench/training"  # experiments live at workspace paths there

_lock = threading.Lock()
_trackers: dict[tuple[str, str], ExperimentTracker] = {}


def local_store(home: Path) -> Path:
    return (home / "mlflow").resolve()


def local_tracking_uri(home: Path) -> str:
    return f"sqlite:///{local_store(home) / 'mlflow.db'}"


def experiment_name(settings: Settings) -> str:
    return DATABRICKS_EXPERIMENT if settings.is_databricks else LOCAL_EXPERIMENT


def open_tracker(settings: Settings) -> ExperimentTracker:
    """One per store and process: MLflow's client keeps a database engine (sqlite: one file)."""
    key = (settings.backend, str(settings.home.resolve()) if not settings.is_databricks else settings.databricks_host)
    with _lock:
        tracker = _trackers.get(key)
        if tracker is None:
            tracker = _trackers[key] = _build(settings)
        return tracker


def _build(settings: Settings) -> ExperimentTracker:
    if settings.is_databricks:
        # Models go to Unity Catalog as catalog.schema.model, beside the workbench's tables.
        return MlflowTracker("databricks", "databricks-uc", ui_url=settings.databricks_host, name_prefix=f"{settings.qualified_schema}.")
    store = local_store(settings.home)
    store.mkdir(parents=True, exist_ok=True)
    uri = local_tracking_uri(settings.home)
    return MlflowTracker(uri, uri, ui_url=settings.mlflow_ui_url, artifact_root=(store / "artifacts").as_uri())
