"""An MLflow store is a sqlite file whose schema MLflow builds on first use (~8 s of migrations
here); a test that trains copies one built once per session instead, so its run starts from an
empty store without paying for it. Import both fixtures into a test module (or conftest) to use them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from data_access.tracking.factory import local_store, local_tracking_uri


@pytest.fixture(scope="session")
def empty_mlflow_db(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("mlflow-template")
    local_store(home).mkdir(parents=True)
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=local_tracking_uri(home)).search_experiments()
    return local_store(home) / "mlflow.db"


@pytest.fixture(autouse=True)
def fresh_mlflow_store(settings, empty_mlflow_db) -> None:
    store = local_store(settings.home)
    store.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(empty_mlflow_db, store / "mlflow.db")
