"""TRAIN exports: the gate summary, the split plan and its class balance, the preview, and
export versions written as jobs.

Only pairs that pass the dual gate of a split reach it: `status = 'labeled'` and the use
(training for train, validation for validation) allowed and not prohibited, decided by the one
rule in services.core.governance, in SQL, with each pair's stored constraints tightened by
its source's current Unity Catalog tags (services/train/export_governance.py).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from data_access.volumes import VolumeFileError
from services.core.domain.qa_pair import TrainingSheet, TrainingSheetStatus
from services.core.errors import NotFoundError, ValidationError, WorkbenchError
from services.core.jobs import JobContext, JobRunner
from services.core.workbench import Workbench
from services.generate.generation import GenerationService
from services.templates.prompt_templates import TemplateService
from services.train.export_governance import ExportGovernance, current_governance
from services.train.export_job import (
    JOB_TYPE,
    ExportRun,
    ExportScope,
    ExportWork,
    ExportWriter,
    GateReading,
    export_directory,
    export_lines,
)
from services.train.export_records import (
    MAX_SEED,
    MAX_VALIDATION_FRACTION,
    ExportSummary,
    ExportVersion,
    Split,
    SplitConfig,
    Stratify,
)
from services.train.export_sql import plan_params, plan_sql, summary_params, summary_sql
from services.train.export_summary import summary_from_rows
from services.train.exports_store import TrainingExportsStore
from services.train.records import EvaluationSource, TrainingInput
from services.train.split_plan import MAX_STRATA, SplitPlan
from services.train.stratify_options import categorical_fields, is_plain_field_name

MAX_TRAINING_SHEETS = 20  # one export; beyond this, the list of sheets is no longer something to read
PREVIEW_LINES = 5
PREVIEW_BATCH_ROWS = 200  # a preview reads a small batch, usually one, to find its first lines
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024  # Streamlit holds a download in memory while the page is open


@dataclass(frozen=True)
class ExportRequest:
    export_id: str
    training_sheet_ids: list[str]
    config: SplitConfig

    def to_params(self) -> dict[str, Any]:
        return {"export_id": self.export_id, "training_sheet_ids": self.training_sheet_ids, "split_config": self.config.to_json()}


@dataclass(frozen=True)
class PreviewLine:
    qa_pair_id: str
    training_sheet_id: str
    split: Split
    copies: int
    line: str


class ExportService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._pairs = workbench.table("qa_pairs")
        self._store = TrainingExportsStore(self._engine, workbench.table("training_exports"), workbench.table("training_export_pairs"))

    # -- what can be exported ----------------------------------------------------------
    def training_sheets(self) -> list[TrainingSheet]:
        """Training Sheets with at least one labeled pair, newest first."""
        return [t for t in GenerationService(self._wb).list() if t.counts.labeled]

    def stratify_fields(self, training_sheet_ids: list[str]) -> list[str]:
        """The categorical output fields of the sheets' templates (a label value to stratify on)."""
        return self._stratify_fields(self._training_sheets(training_sheet_ids))

    def _stratify_fields(self, sheets: list[TrainingSheet]) -> list[str]:
        templates = TemplateService(self._wb)
        fields: dict[str, None] = {}
        for sheet in sheets:
            try:
                fields.update(dict.fromkeys(categorical_fields(templates.get(sheet.template_id))))
            except NotFoundError:
                continue
        return list(fields)

    def default_config(self, training_sheet_ids: list[str]) -> SplitConfig:
        fields = self.stratify_fields(training_sheet_ids)
        return SplitConfig(stratify=Stratify.FIELD, stratify_field=fields[0]) if fields else SplitConfig()

    def governance(self, training_sheet_ids: list[str]) -> ExportGovernance:
        """What each Training Sheet's source permits now, from its current Unity Catalog tags."""
        return current_governance(self._wb, self._training_sheets(training_sheet_ids))

    def summary(self, training_sheet_ids: list[str]) -> ExportSummary:
        """The gate counts under the sources' current tags."""
        sheets = self._training_sheets(training_sheet_ids)
        return self._summary([t.id for t in sheets], current_governance(self._wb, sheets))

    def plan(self, training_sheet_ids: list[str], config: SplitConfig) -> SplitPlan:
        """The split, per label value, as an export would make it now: the class balance."""
        sheets = self._training_sheets(training_sheet_ids)
        return self._plan([t.id for t in sheets], config, current_governance(self._wb, sheets))

    def _summary(self, ids: list[str], governance: ExportGovernance) -> ExportSummary:
        return summary_from_rows(self._engine.query(summary_sql(self._pairs), summary_params(ids, governance)), governance)

    def _plan(self, ids: list[str], config: SplitConfig, governance: ExportGovernance) -> SplitPlan:
        config = checked_config(config)
        rows = self._engine.query(plan_sql(self._pairs, config), plan_params(ids, config, governance))
        if len(rows) > MAX_STRATA:
            raise ValidationError(
                f"'{config.stratify_field}' takes {len(rows):,} different values: that is free text, not a label. "
                "Stratify by response or not at all.", "stratify_field",
            )
        return SplitPlan.from_rows(config, rows)

    def preview(self, training_sheet_ids: list[str], config: SplitConfig, n: int = PREVIEW_LINES) -> list[PreviewLine]:
        """The first n lines, made by the query that writes the files, in the order written."""
        sheets = self._training_sheets(training_sheet_ids)
        ids, governance = [t.id for t in sheets], current_governance(self._wb, sheets)
        scope = ExportScope(ids, checked_config(config), governance)
        lines: list[PreviewLine] = []
        for page in export_lines(self._engine, self._pairs, scope, batch_rows=PREVIEW_BATCH_ROWS):
            for pair_id, sheet, split, copies, line in zip(page.ids, page.sheets, page.splits, page.copies, page.lines, strict=True):
                lines.append(PreviewLine(pair_id, sheet, Split(split), copies, line.decode()))
                if len(lines) >= n:
                    return lines
        return lines

    # -- exporting -----------------------------------------------------------------------
    def start(self, training_sheet_ids: list[str], config: SplitConfig) -> str:
        """Checks the request, then writes a new export version as a job; returns the job id."""
        request = self.checked_request(ExportRequest(str(uuid.uuid4()), list(training_sheet_ids), config).to_params())
        governance = self.governance(request.training_sheet_ids)
        reading = GateReading(governance, self._summary(request.training_sheet_ids, governance))
        if not reading.summary.total.training_allowed:
            raise ValidationError("No pair of these Training Sheets passes the training gate (labeled, and training allowed): nothing to export.")
        only = request.training_sheet_ids[0] if len(request.training_sheet_ids) == 1 else None
        return JobRunner(self._wb).submit(
            JOB_TYPE, request.to_params(), training_sheet_id=only, target_id=request.export_id, work=ExportWork(self, request, reading),
        )

    def checked_request(self, params: dict[str, Any]) -> ExportRequest:
        ids = params.get("training_sheet_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ValidationError("Choose one or more Training Sheets to export.", "training_sheet_ids")
        if len(set(ids)) > MAX_TRAINING_SHEETS:
            raise ValidationError(f"An export combines at most {MAX_TRAINING_SHEETS} Training Sheets.", "training_sheet_ids")
        sheets = self._training_sheets(ids)
        generating = [t.name for t in sheets if t.status == TrainingSheetStatus.GENERATING]
        if generating:
            raise ValidationError(f"{', '.join(generating)} is still generating; export it once generation has finished.", "training_sheet_ids")
        try:
            config = SplitConfig.from_json(params.get("split_config") or {})
        except (TypeError, ValueError) as error:
            raise ValidationError(f"The split settings are not valid: {error}", "split_config") from error
        export_id = str(params.get("export_id") or "")
        try:
            uuid.UUID(export_id)
        except ValueError as error:
            raise ValidationError("An export needs an id.", "export_id") from error
        fields = self._stratify_fields(sheets) if config.stratify is Stratify.FIELD else None  # the others name no field
        return ExportRequest(export_id, sorted(t.id for t in sheets), checked_config(config, fields))

    def run_export(self, request: ExportRequest, context: JobContext, reading: GateReading | None = None) -> dict[str, Any]:
        """The job's work. A version a previous run recorded is returned as it is. `reading`: the
        tags and gate counts just read for this request (else they are read now), one reading
        for the whole export."""
        done = self._store.get(request.export_id)
        if done is not None:
            return _result(done)
        ids = request.training_sheet_ids  # checked_request resolved them
        if reading is None:
            governance = self.governance(ids)
            reading = GateReading(governance, self._summary(ids, governance))
        run = ExportRun(
            training_sheet_ids=ids, config=request.config, governance=reading.governance,
            export_id=request.export_id, summary=reading.summary,
            directory=export_directory(self._wb.settings.export_volume_path, request.export_id),
        )
        writer = ExportWriter(self._engine, self._wb.backend.files, self._pairs, self._store)
        try:
            writer.discard(run)  # an interrupted earlier run of this export may have left files or rows
            written = writer.write(run, context)
        except VolumeFileError as error:
            raise WorkbenchError(f"The export could not be written to {run.directory}: {error}") from error
        if written is None:
            return {"export_id": run.export_id, "status": "cancelled"}
        self._store.insert_version({
            "id": run.export_id, "training_sheet_ids": run.training_sheet_ids, "directory": run.directory,
            "split_config": _json({**run.config.to_json(), "oversample_copies": written["oversample_copies"]}),
            "gate_counts": _json(run.summary.to_json()), "train_count": written["train_pairs"],
            "validation_count": written["validation_pairs"], "train_lines": written["train_lines"], "skipped_count": written["skipped"],
            "train_sha256": written["train_sha256"], "validation_sha256": written["validation_sha256"],
            "manifest_sha256": written["manifest_sha256"], "job_id": context.job_id, "created_by": self._wb.user.email,
        })
        return _result(self.get(run.export_id))

    # -- export versions ---------------------------------------------------------------
    def versions(self, training_sheet_ids: list[str] | None = None) -> list[ExportVersion]:
        """Newest first; with Training Sheets, the exports that include any of them."""
        if not training_sheet_ids:
            return self._store.list()
        wanted = set(training_sheet_ids)
        return [v for v in self._store.list() if wanted.intersection(v.training_sheet_ids)]

    def get(self, export_id: str) -> ExportVersion:
        found = self._store.get(export_id)
        if found is None:
            raise NotFoundError("That export does not exist (a cancelled or failed export leaves none).")
        return found

    def pair_ids(self, export_id: str, split: Split) -> list[str]:
        """The exact pairs of a split of an export, in the order of its file's lines."""
        return self._store.pair_ids(self.get(export_id).id, split)

    def training_input(self, version: ExportVersion) -> TrainingInput:
        """What a training run starts from: this version's files, its exact pairs per split, and
        the evaluation set drawn from the same Training Sheets (the evaluation gate, never a pair
        trained or validated on)."""
        validation_ids = tuple(self.pair_ids(version.id, Split.VALIDATION))
        return TrainingInput(
            export_id=version.id, training_sheet_ids=version.training_sheet_ids, train_jsonl=version.train_path,
            validation_jsonl=version.validation_path if validation_ids else None,
            train_pair_ids=tuple(self.pair_ids(version.id, Split.TRAIN)), validation_pair_ids=validation_ids,
            evaluation=EvaluationSource(version.training_sheet_ids), export_version=version.version,
            train_digest=version.train_sha256, validation_digest=version.validation_sha256 if validation_ids else None,
        )

    def file_bytes(self, path: str) -> bytes:
        """An export's file, for a download (refused beyond MAX_DOWNLOAD_BYTES: read it on the volume)."""
        return self._wb.backend.files.read_bytes(path, max_bytes=MAX_DOWNLOAD_BYTES)

    def file_size(self, path: str) -> int:
        return self._wb.backend.files.size(path)

    def _training_sheets(self, training_sheet_ids: list[str]) -> list[TrainingSheet]:
        generation = GenerationService(self._wb)
        return [generation.get(i) for i in dict.fromkeys(training_sheet_ids)]


def checked_config(config: SplitConfig, fields: list[str] | None = None) -> SplitConfig:
    if not 0 <= config.validation_fraction <= MAX_VALIDATION_FRACTION:
        raise ValidationError(f"The validation share must be between 0 and {MAX_VALIDATION_FRACTION:.0%}.", "validation_fraction")
    if not 0 <= config.seed <= MAX_SEED:
        raise ValidationError(f"The seed must be a whole number from 0 to {MAX_SEED:,}.", "seed")
    unknown_field = not is_plain_field_name(config.stratify_field) or (fields is not None and config.stratify_field not in fields)
    if config.stratify is Stratify.FIELD and unknown_field:
        raise ValidationError(f"'{config.stratify_field}' is not a categorical output field of these Training Sheets.", "stratify_field")
    if config.oversample and config.stratify is not Stratify.FIELD:
        raise ValidationError("Oversampling balances label values: stratify by a label field to use it.", "oversample")
    return config


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _result(version: ExportVersion) -> dict[str, Any]:
    return {
        "export_id": version.id, "version": version.version, "directory": version.directory, "train_pairs": version.train_count,
        "validation_pairs": version.validation_count, "train_lines": version.train_lines, "skipped": version.skipped_count,
    }
