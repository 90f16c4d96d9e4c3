"""The edge bundle's manifest: what the bundle holds, where the model came from, and how to run it.

The bundle's own server (data_access/serving/edge_server.py) reads `files` and `model` from the
JSON with the standard library alone, so those keys and their shapes are its contract (the
manifest's and the model folder's names are the server's own constants).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from data_access.serving.bundle_archive import ArchivedFile
from data_access.serving.edge_server import MANIFEST as MANIFEST_FILE
from services.core.domain.template import Template

BUNDLE_FORMAT = "vital-workbench-edge-bundle"
FORMAT_VERSION = 1
SERVER_FILE = "serve.py"
REQUIREMENTS_FILE = "requirements.txt"
README_FILE = "README.txt"
TEMPLATES_DIR = "templates"
EXAMPLE_STORE_DIR = "example_store"
DEFAULT_PORT = 8080
NO_EXAMPLE_STORE = "No Example Store snapshot: no example passed the few-shot gate when this bundle was built."


@dataclass(frozen=True)
class BundledModel:
    name: str
    version: str
    base_model: str
    mlflow_run_id: str | None
    lineage_id: str
    max_new_tokens: int


@dataclass(frozen=True)
class BundleLineage:
    training_sheet_ids: tuple[str, ...]
    export_id: str | None
    export_version: str | None
    trained_at: datetime | None


@dataclass(frozen=True)
class BundledTemplate:
    id: str
    name: str
    version: str
    file: str


@dataclass(frozen=True)
class EdgeManifest:
    model: BundledModel
    lineage: BundleLineage
    templates: tuple[BundledTemplate, ...]
    example_store_file: str | None
    example_store_facts: dict[str, Any] | None  # embeddings file, count and model of a gated snapshot
    requirements: tuple[str, ...]
    files: tuple[ArchivedFile, ...]
    created_at: datetime
    created_by: str

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "model": {
                "name": self.model.name, "version": self.model.version, "model_id": f"{self.model.name}/{self.model.version}",
                "base_model": self.model.base_model, "mlflow_run_id": self.model.mlflow_run_id,
                "lineage_id": self.model.lineage_id, "max_new_tokens": self.model.max_new_tokens,
            },
            "lineage": {
                "training_sheet_ids": list(self.lineage.training_sheet_ids), "export_id": self.lineage.export_id,
                "export_version": self.lineage.export_version,
                "trained_at": self.lineage.trained_at.isoformat() if self.lineage.trained_at else None,
            },
            "templates": [t.__dict__ for t in self.templates],
            "example_store": (
                {"file": self.example_store_file, **(self.example_store_facts or {})} if self.example_store_file
                else {"file": None, "note": NO_EXAMPLE_STORE}
            ),
            "requirements": list(self.requirements),
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in self.files],
            "how_to_run": how_to_run(),
        }
        return json.dumps(data, indent=2, ensure_ascii=False)


def how_to_run() -> list[str]:
    return [
        f"Where there is network, fetch the wheels once: pip download -r {REQUIREMENTS_FILE} -d wheels",
        f"Offline: python3.11 -m venv ~/edge-venv && ~/edge-venv/bin/pip install --no-index --find-links wheels -r {REQUIREMENTS_FILE}",
        f"Serve: ~/edge-venv/bin/python {SERVER_FILE} --port {DEFAULT_PORT}  (add --host 0.0.0.0 to accept other machines)",
        f"It refuses to start if any file differs from {MANIFEST_FILE} (sha256 and size of every file).",
        f"Ask: curl -s localhost:{DEFAULT_PORT}/invocations -H 'Content-Type: application/json' "
        "-d '{\"messages\": [{\"role\": \"user\", \"content\": \"...\"}], \"max_tokens\": 64}'",
        f"OpenAI clients: base URL http://localhost:{DEFAULT_PORT}/v1 (POST /v1/chat/completions).",
    ]


def readme(model: BundledModel) -> str:
    lines = [f"Edge bundle of {model.name} version {model.version} (fine-tuned from {model.base_model}).", "", *how_to_run(), ""]
    return "\n".join(lines)


def template_json(template: Template) -> str:
    """The template version the model was trained with, as the bundle's `templates/` holds it."""
    return json.dumps(
        {
            "id": template.id, "family_id": template.family_id, "name": template.name, "version": template.version,
            "status": str(template.status), "label_type": template.label_type, "description": template.description,
            "system_prompt": template.system_prompt, "user_prompt_template": template.user_prompt_template,
            "input_schema": [f.to_json() for f in template.input_schema],
            "output_schema": [f.to_json() for f in template.output_schema],
            "examples": [e.to_json() for e in template.examples], "base_model": template.base_model,
            "temperature": template.temperature, "max_tokens": template.max_tokens,
            "published_at": template.published_at.isoformat() if template.published_at else None,
        },
        indent=2, ensure_ascii=False, default=str,
    )
