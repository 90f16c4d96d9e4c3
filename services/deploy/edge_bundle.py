"""Export for edge: one zip holding a registered model version and everything to serve it offline.

The bundle: the model's transformers directory (`model/`), the template version(s) its Training
Sheets were generated with (`templates/`), the Example Store snapshot (`example_store/`: the examples that pass the
few-shot gate at export time and their vectors, unless a snapshot file is given), the pinned `requirements.txt`, the offline server (`serve.py`), a
`README.txt`, and `manifest.json` last: the lineage ids and the sha256 and size of every other
file, which the server checks before it loads anything. The archive is written a chunk at a
time; the result says where it is, for the DEPLOY page to record and offer as a download.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from data_access.serving.bundle_archive import BundleArchive
from data_access.serving.edge_runtime import SERVER_SCRIPT, pinned_requirements
from data_access.serving.edge_server import MANIFEST as MANIFEST_FILE
from data_access.serving.edge_server import MODEL_DIR, sha256_of
from data_access.serving.model_files import ModelFilesError, RegisteredModelFiles, model_files_for
from services.core.domain.template import Template
from services.core.errors import NotFoundError, ValidationError
from services.core.workbench import Workbench
from services.deploy.edge_manifest import (
    EXAMPLE_STORE_DIR,
    README_FILE,
    REQUIREMENTS_FILE,
    SERVER_FILE,
    TEMPLATES_DIR,
    BundledModel,
    BundledTemplate,
    BundleLineage,
    EdgeManifest,
    readme,
    template_json,
)
from services.example_store.snapshot import gated_snapshot
from services.generate.generation import GenerationService
from services.templates.prompt_templates import TemplateService
from services.train.records import TrainingRun
from services.train.runs_store import TrainingRunsStore

SNAPSHOT_EXAMPLES = "examples.jsonl"
SNAPSHOT_EMBEDDINGS = "embeddings.npy"  # float32, row i for the example whose embedding_row is i
BUNDLES_DIR = "edge-bundles"  # under WORKBENCH_HOME; each bundle is about the size of its weights
DEFAULT_MAX_NEW_TOKENS = 256  # the chat model's own default when a run's config did not say
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class EdgeBundle:
    """A built bundle: what the DEPLOY page records (target 'edge') and offers for download."""

    path: Path
    model_name: str
    model_version: str
    lineage_id: str
    size_bytes: int
    sha256: str  # of the whole archive, to compare after it has been carried to the edge
    file_count: int
    has_example_store: bool
    build_seconds: float
    created_at: datetime
    created_by: str


class EdgeBundleBuilder:
    def __init__(self, workbench: Workbench, model_files: RegisteredModelFiles | None = None) -> None:
        self._wb = workbench
        self._model_files = model_files or model_files_for(workbench.settings)

    def build(
        self, model_name: str, model_version: str, out_dir: Path | None = None, example_store_snapshot: Path | None = None
    ) -> EdgeBundle:
        """Writes `<model>-v<version>-edge.zip` into `out_dir` (WORKBENCH_HOME/edge-bundles unless
        given), replacing an earlier build of the same version; raises NotFoundError when the
        version has no training lineage here (only models trained in this workbench can be bundled)."""
        started, created_at = time.monotonic(), datetime.now(UTC)
        out_dir = out_dir or self._wb.settings.home / BUNDLES_DIR
        run = self._run_of(model_name, model_version)
        if example_store_snapshot is not None and not example_store_snapshot.is_file():
            raise ValidationError(f"The Example Store snapshot {example_store_snapshot} does not exist.")
        templates = self._templates(run.training_sheet_ids)
        model = BundledModel(
            name=model_name, version=model_version, base_model=run.base_model, mlflow_run_id=run.mlflow_run_id,
            lineage_id=run.id, max_new_tokens=int(run.config.get("max_new_tokens") or DEFAULT_MAX_NEW_TOKENS),
        )
        target = out_dir / archive_name(model_name, model_version)
        try:
            with self._model_files.open(model_name, model_version) as files, BundleArchive(target) as archive:
                manifest = self._write(archive, files.model_dir, templates, example_store_snapshot, model, run, created_at)
        except ModelFilesError as error:
            raise NotFoundError(str(error)) from error
        return EdgeBundle(
            path=target, model_name=model_name, model_version=model_version, lineage_id=run.id,
            size_bytes=target.stat().st_size, sha256=sha256_of(target), file_count=len(manifest.files) + 1,
            has_example_store=manifest.example_store_file is not None, build_seconds=time.monotonic() - started,
            created_at=created_at, created_by=manifest.created_by,
        )

    def _write(
        self, archive: BundleArchive, model_dir: Path, templates: list[Template], snapshot: Path | None,
        model: BundledModel, run: TrainingRun, created_at: datetime,
    ) -> EdgeManifest:
        """Every file into the archive, then the manifest of them, last."""
        written = [archive.add_file(f"{MODEL_DIR}/{p.relative_to(model_dir).as_posix()}", p) for p in _files_under(model_dir)]
        bundled = []
        for template in templates:
            path = f"{TEMPLATES_DIR}/{_UNSAFE_NAME.sub('_', template.name)}-{template.version}.json"
            written.append(archive.add_bytes(path, template_json(template).encode()))
            bundled.append(BundledTemplate(template.id, template.name, template.version, path))
        snapshot_path, store_facts = None, None
        if snapshot is not None:
            snapshot_path = f"{EXAMPLE_STORE_DIR}/{snapshot.name}"
            written.append(archive.add_file(snapshot_path, snapshot))
        elif (gated := gated_snapshot(self._wb)).count:
            snapshot_path = f"{EXAMPLE_STORE_DIR}/{SNAPSHOT_EXAMPLES}"
            written.append(archive.add_bytes(snapshot_path, gated.examples_jsonl))
            written.append(archive.add_bytes(f"{EXAMPLE_STORE_DIR}/{SNAPSHOT_EMBEDDINGS}", gated.embeddings_npy))
            store_facts = {"embeddings": f"{EXAMPLE_STORE_DIR}/{SNAPSHOT_EMBEDDINGS}", "count": gated.count,
                           "embedding_model": gated.embedding_model}
        requirements = pinned_requirements()
        written.append(archive.add_bytes(REQUIREMENTS_FILE, ("\n".join(requirements) + "\n").encode()))
        written.append(archive.add_file(SERVER_FILE, SERVER_SCRIPT))
        written.append(archive.add_bytes(README_FILE, readme(model).encode()))
        manifest = EdgeManifest(
            model=model, lineage=BundleLineage(run.training_sheet_ids, run.export_id, run.export_version, run.trained_at),
            templates=tuple(bundled), example_store_file=snapshot_path, example_store_facts=store_facts, requirements=requirements,
            files=tuple(written), created_at=created_at, created_by=self._wb.user.email,
        )
        archive.add_bytes(MANIFEST_FILE, manifest.to_json().encode())
        return manifest

    def _run_of(self, model_name: str, model_version: str) -> TrainingRun:
        run = TrainingRunsStore(self._wb).for_model(model_name, model_version)
        if run is None:
            raise NotFoundError(
                f"{model_name} version {model_version} has no training run in this workbench; only models it trained can be exported."
            )
        return run

    def _templates(self, training_sheet_ids: tuple[str, ...]) -> list[Template]:
        sheets = GenerationService(self._wb)
        templates = TemplateService(self._wb)
        seen: dict[str, Template] = {}
        for training_sheet_id in training_sheet_ids:
            template_id = sheets.get(training_sheet_id).template_id
            if template_id not in seen:
                seen[template_id] = templates.get(template_id)
        return list(seen.values())


def archive_name(model_name: str, model_version: str) -> str:
    return f"{_UNSAFE_NAME.sub('_', model_name)}-v{model_version}-edge.zip"


def _files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())

