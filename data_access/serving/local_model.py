"""A registered MLflow chat model (data_access/training/chat_model.py) served in this process.

The version is looked up in the registry of this backend (the local sqlite store, or Unity
Catalog), its files read in place when they are on this machine (a local artifact store is a
directory: copying ~0.5 GB first would only slow loading), and it answers through its pyfunc
`predict`, greedily. Token counts come from the model's own tokenizer, beside its weights.
mlflow, torch and transformers take seconds to import: only a deployment pays for them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from data_access.serving.served_model import ChatTurn, ModelAnswer, ServedModel, ServingError
from data_access.settings import Settings
from data_access.tracking.factory import local_tracking_uri
from data_access.tracking.mlflow_tracker import _local_dir as local_dir
from data_access.training.local_trainer import default_threads


class RegisteredChatModel(ServedModel):
    def __init__(self, pyfunc: object, tokenizer: object | None) -> None:
        self._pyfunc = pyfunc
        self._tokenizer = tokenizer
        # One generation at a time: on a CPU, two at once only share the same cores more slowly,
        # and the endpoint's queue decides who goes next.
        self._lock = threading.Lock()

    def answer(self, messages: Sequence[ChatTurn], max_tokens: int) -> ModelAnswer:
        import pandas as pd
        import torch

        rows = pd.DataFrame({"messages": [[{"role": m.role, "content": m.content} for m in messages]]})
        with self._lock:
            # torch's thread count is the process's, and training in this app may have changed it.
            # One core fewer than the machine has: with as many threads as cores, an answer took
            # three times longer on a busy 2-core machine (11.4 s instead of 3.4 s for 16 tokens).
            torch.set_num_threads(default_threads())
            try:
                (text,) = self._pyfunc.predict(rows, params={"max_new_tokens": int(max_tokens)})
            except Exception as error:  # the model's own failure, whatever its type
                raise ServingError(f"The model failed to answer: {error}") from error
        return ModelAnswer(str(text), *self._count_tokens(messages, str(text)))

    def _count_tokens(self, messages: Sequence[ChatTurn], text: str) -> tuple[int | None, int | None]:
        if self._tokenizer is None:
            return None, None
        chat = [{"role": m.role, "content": m.content} for m in messages]
        prompt = self._tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True)
        ids = prompt["input_ids"] if isinstance(prompt, dict) or hasattr(prompt, "keys") else prompt
        return len(ids), len(self._tokenizer.encode(text, add_special_tokens=False))


def load_registered_model(settings: Settings, model_name: str, version: str) -> RegisteredChatModel:
    """Load `model_name` version `version` from this backend's registry; ServingError when it is
    not there or does not load."""
    import mlflow.pyfunc
    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    tracking_uri, registry_uri = registry_uris(settings)
    try:
        source = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri).get_model_version(model_name, version).source
        where = local_dir(source) or Path(download_artifacts(artifact_uri=source, tracking_uri=tracking_uri))
        pyfunc = mlflow.pyfunc.load_model(str(where))
    except MlflowException as error:
        raise ServingError(f"{model_name} version {version} could not be loaded from the registry: {error.message}") from error
    except OSError as error:
        raise ServingError(f"The files of {model_name} version {version} could not be read: {error}") from error
    return RegisteredChatModel(pyfunc, _tokenizer_beside(where))


def _tokenizer_beside(model_dir: Path) -> object | None:
    from transformers import AutoTokenizer

    found = sorted(model_dir.glob("artifacts/*/tokenizer_config.json"))
    return AutoTokenizer.from_pretrained(str(found[0].parent)) if found else None


def registry_uris(settings: Settings) -> tuple[str, str]:
    """Tracking and registry URIs of this backend (as the training tracker writes them)."""
    if settings.is_databricks:
        return "databricks", "databricks-uc"
    uri = local_tracking_uri(settings.home)
    return uri, uri
