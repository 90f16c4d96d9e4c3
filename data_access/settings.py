"""Process-wide settings, read once from the environment.

Every variable has a working default, so the app starts from a laptop with none set.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

# Built model files (the ONNX graph of the embedding model) are shared by every store.
DEFAULT_MODEL_CACHE = Path("~/.cache/vital-workbench/models")
# The most pixels one image or rendered PDF page may hold: a 60-megapixel photo decodes to
# about 180 MB, so a few at once still fit a small app container. Checked from the file's
# header before anything is decoded; WORKBENCH_MAX_IMAGE_PIXELS moves it within these bounds.
DEFAULT_MAX_IMAGE_PIXELS = 60_000_000
MAX_IMAGE_PIXELS_RANGE = (1_000_000, 1_000_000_000)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z")


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


def checked_identifier(value: str, variable: str) -> str:
    """Catalog and schema names end up in DDL, so only plain identifiers are accepted."""
    if not _IDENTIFIER.match(value):
        raise SettingsError(f"{variable}={value!r} is not a plain identifier (letters, digits, _).")
    return value


@dataclass(frozen=True)
class Settings:
    backend: str = "local"
    home: Path = Path(".workbench")
    catalog: str = "mirion_vital"
    schema: str = "workbench"
    local_user: str = "analyst@localhost"
    warehouse_id: str = ""
    databricks_host: str = ""
    serving_endpoint: str = ""
    embedding_endpoint: str = ""
    example_index: str = ""  # catalog.schema.index of the Vector Search index of examples (Databricks)
    volume: str = ""
    export_volume: str = ""  # catalog.schema.volume for TRAIN exports; empty: <catalog>.<schema>.exports
    demo_seed: int = 42
    model_cache: Path = field(default_factory=lambda: DEFAULT_MODEL_CACHE.expanduser())
    load_demo_data: bool = True
    demo_training: bool = True  # with demo data: train the demo model in the background after the first start
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    model_concurrency: int = 8
    dspy_traces: bool = False  # True: a launch that does not choose (and the page's box) traces every model call (mlflow.dspy.autolog)
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    mlflow_ui_url: str = "http://127.0.0.1:5000"
    train_threads: int = 0  # 0: leave one core to the app (see data_access/training/local_trainer.py)
    train_accelerator: str = "GPU_1xA10"
    train_base_model: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def qualified_schema(self) -> str:
        return f"{self.catalog}.{self.schema}"

    def table(self, name: str) -> str:
        """Three-part name of one of the workbench's own tables."""
        return f"{self.catalog}.{self.schema}.{name}"

    @property
    def is_databricks(self) -> bool:
        return self.backend == "databricks"

    @property
    def export_volume_path(self) -> str:
        """Where TRAIN exports are written: `/Volumes/<catalog>/<schema>/<volume>`."""
        name = self.export_volume or f"{self.catalog}.{self.schema}.exports"
        return "/Volumes/" + "/".join(name.split("."))


def _choose_backend(env: dict[str, str]) -> str:
    chosen = env.get("WORKBENCH_BACKEND", "").strip().lower()
    if chosen:
        if chosen not in ("local", "databricks"):
            raise SettingsError("WORKBENCH_BACKEND must be 'local' or 'databricks'.")
        return chosen
    # A Databricks App sets DATABRICKS_APP_NAME; a warehouse id means someone wants the warehouse.
    if env.get("DATABRICKS_APP_NAME") or env.get("DATABRICKS_WAREHOUSE_ID"):
        return "databricks"
    return "local"


def _bounded_int(text: str, variable: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{variable}={text!r} is not a whole number.") from None
    if not low <= value <= high:
        raise SettingsError(f"{variable} must be between {low:,} and {high:,}.")
    return value


def _checked_volume_name(value: str, variable: str) -> str:
    """A volume's three-part name (catalog.schema.volume), or empty for the default."""
    if not value:
        return ""
    parts = value.split(".")
    if len(parts) != 3:
        raise SettingsError(f"{variable}={value!r} is not a volume's three-part name (catalog.schema.volume).")
    for part in parts:
        checked_identifier(part, variable)
    return value


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "analyst"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    return Settings(
        backend=_choose_backend(env),
        home=Path(env.get("WORKBENCH_HOME", ".workbench")).expanduser(),
        catalog=checked_identifier(env.get("WORKBENCH_CATALOG", "mirion_vital"), "WORKBENCH_CATALOG"),
        schema=checked_identifier(env.get("WORKBENCH_SCHEMA", "workbench"), "WORKBENCH_SCHEMA"),
        local_user=env.get("WORKBENCH_USER") or _default_user(),
        warehouse_id=env.get("DATABRICKS_WAREHOUSE_ID", ""),
        databricks_host=env.get("DATABRICKS_HOST", "").rstrip("/"),
        serving_endpoint=env.get("SERVING_ENDPOINT", ""),
        embedding_endpoint=env.get("WORKBENCH_EMBEDDING_ENDPOINT", ""),
        example_index=env.get("WORKBENCH_EXAMPLE_INDEX", ""),
        volume=env.get("WORKBENCH_VOLUME", ""),
        export_volume=_checked_volume_name(env.get("WORKBENCH_EXPORT_VOLUME", ""), "WORKBENCH_EXPORT_VOLUME"),
        demo_seed=int(env.get("WORKBENCH_DEMO_SEED", "42")),
        model_cache=Path(env.get("WORKBENCH_MODEL_CACHE", str(DEFAULT_MODEL_CACHE))).expanduser(),
        load_demo_data=env.get("WORKBENCH_DEMO_DATA", "1") not in ("0", "false", "no"),
        demo_training=env.get("WORKBENCH_DEMO_TRAINING", "on").strip().lower() not in ("0", "off", "false", "no"),
        llm_base_url=env.get("WORKBENCH_LLM_BASE_URL", ""),
        llm_model=env.get("WORKBENCH_LLM_MODEL", ""),
        llm_api_key=env.get("WORKBENCH_LLM_API_KEY", ""),
        model_concurrency=_bounded_int(env.get("WORKBENCH_MODEL_CONCURRENCY", "8"), "WORKBENCH_MODEL_CONCURRENCY", 1, 64),
        dspy_traces=env.get("WORKBENCH_DSPY_TRACES", "off").strip().lower() not in ("0", "off", "false", "no"),
        max_image_pixels=_bounded_int(
            env.get("WORKBENCH_MAX_IMAGE_PIXELS", str(DEFAULT_MAX_IMAGE_PIXELS)), "WORKBENCH_MAX_IMAGE_PIXELS", *MAX_IMAGE_PIXELS_RANGE
        ),
        mlflow_ui_url=(env.get("WORKBENCH_MLFLOW_UI_URL") or "http://127.0.0.1:5000").rstrip("/"),
        train_threads=_bounded_int(env.get("WORKBENCH_TRAIN_THREADS", "0"), "WORKBENCH_TRAIN_THREADS", 0, 256),
        train_accelerator=env.get("WORKBENCH_TRAIN_ACCELERATOR", "GPU_1xA10"),
        train_base_model=env.get("WORKBENCH_TRAIN_BASE_MODEL", "HuggingFaceTB/SmolLM2-135M-Instruct"),
    )
