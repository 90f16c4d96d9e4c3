"""A real registered chat model (SmolLM2-135M-Instruct, logged through the training tracker as
TRAIN logs its models, registered in a local MLflow store), built once per session.

Logging copies ~0.5 GB of weights, so it is done once; a test store gets a copy of the registry
database, whose version points at the session's artifact files (absolute paths), and a lineage
row naming the version (tests/deploy_builders.py). tests/conftest.py offers the fixture.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from data_access.settings import load_settings
from data_access.tracking.factory import experiment_name, local_store, open_tracker
from data_access.training.base_model import prepared_base_model

REGISTERED_NAME = "invoices_urgency_lora"
MAX_NEW_TOKENS = 8


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: str
    mlflow_db: Path


@pytest.fixture(scope="session")
def registered_chat_model(tmp_path_factory: pytest.TempPathFactory) -> RegisteredModel:
    home = tmp_path_factory.mktemp("registered-model") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0"})
    tracker = open_tracker(settings)
    run = tracker.start_run(experiment_name(settings), "deploy-test-model", {})
    source = tracker.log_model(run.run_id, prepared_base_model(settings.model_cache), MAX_NEW_TOKENS)
    version = tracker.register(run.run_id, source, REGISTERED_NAME, "candidate", {})
    return RegisteredModel(REGISTERED_NAME, version.version, local_store(home) / "mlflow.db")


def install_registry(registered: RegisteredModel, home: Path) -> None:
    """The session's registry (and so its registered version) in the store at `home`."""
    store = local_store(home)
    store.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(registered.mlflow_db, store / "mlflow.db")
