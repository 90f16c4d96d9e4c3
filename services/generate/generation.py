"""GENERATE: apply a published template to a sheet and make a Training Sheet of Q&A pairs.

Invariant 2: an item with a canonical label for the template's label type becomes a pair
with status `labeled`, mode `canonical`, linked to the label and carrying its governance
tightened by the source's current Unity Catalog tags (invariant 9: a tag added after labeling
still binds); every other item follows the chosen mode and starts `unlabeled` (or `labeled`
when a trusted column is the answer), with usage constraints from those tags.
The reuse lookup is one set-based query for the whole sheet.

Generation runs as a job. Pair ids follow from (training sheet, item), and a resumed run
skips items that already have a pair, so a crash, a restart or a cancel never duplicates.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC
from json.encoder import encode_basestring
from typing import Any

import pandas as pd

from services.core.domain.canonical_label import ReusableLabel
from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import LabelingMode, PairStatus, QaPair, TrainingSheet, TrainingSheetStatus
from services.core.domain.sheet import Sheet
from services.core.domain.template import Template, TemplateStatus
from services.core.errors import NotFoundError, ValidationError
from services.core.governance import constraints_from_tags, effective_constraints
from services.core.jobs import JobContext, JobRunner, new_job_id, register_job_type
from services.core.workbench import Workbench
from services.data.sheet_items import SheetItem
from services.data.sheets import SheetService
from services.example_store.dynamic_few_shot import TemplateFewShot
from services.generate.draft_calibration import CONFIG_KEY, DraftCalibration
from services.generate.drafter_choice import choose_drafter, offline_drafter
from services.generate.drafting import Draft, Drafter, DraftRequest
from services.generate.item_features import ItemInput
from services.generate.offline_drafter import MAX_LABELED_EXAMPLES, LabeledExample
from services.generate.qa_pairs_store import QaPairsStore
from services.generate.training_sheets_store import TrainingSheetsStore
from services.generate.warehouse_generation import insert_statement, prompt_sql, statement_params, why_not_in_warehouse
from services.labels.canonical_labels import CanonicalLabelService
from services.templates.prompt_templates import TemplateService
from services.templates.rendering import MessageRenderer, RenderedMessage, item_values, prepare_messages

JOB_TYPE = "generate_training_sheet"
ITEM_BATCH = 5000  # items read, built and inserted per step: one keyset query, one bulk insert
DRAFT_BATCH = 64  # items sent to a drafter per step, so progress and cancel stay responsive
PREVIEW_ITEMS = 5
_IMAGE_KINDS = frozenset({"image"})


@dataclass(frozen=True)
class GenerationRequest:
    sheet_id: str
    template_id: str
    labeling_mode: LabelingMode
    name: str = ""
    source_column: str | None = None  # existing_column mode: the column holding the answer
    trust_source_column: bool = False  # existing_column mode: the answers are pre-approved
    attach_pdf_pages: bool = False  # ai_generated with a vision model: send PDF pages as images
    in_warehouse: bool = False  # ai_generated: one INSERT … SELECT with ai_query in the warehouse


@dataclass(frozen=True)
class PlannedPair:
    item_ref: str
    ordinal: int
    messages: tuple[RenderedMessage, ...]
    response: str
    status: str
    labeling_mode: str
    constraints: UsageConstraints
    media_refs: tuple[str, ...] = ()
    canonical_label_id: str | None = None
    ai_confidence: float | None = None
    error: str | None = None
    draft: Draft | None = field(default=None, repr=False)
    few_shot_example_ids: tuple[str, ...] = ()  # Example Store examples the prompt held (dynamic few-shot)


def pair_id(training_sheet_id: str, item_ref: str) -> str:
    """Deterministic per (training sheet, item), UUID-shaped; blake2b because uuid5 costs
    ~19 µs a call, a fifth of the whole per-pair budget at 100,000 pairs."""
    h = hashlib.blake2b(f"{training_sheet_id}\x1f{item_ref}".encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _Plan:
    """Everything one generation needs, loaded and checked once."""

    def __init__(self, workbench: Workbench, request: GenerationRequest) -> None:
        self.request = request
        self._settings = workbench.settings
        self.sheets = SheetService(workbench)
        self.sheet: Sheet = self.sheets.with_tags(self.sheets.get(request.sheet_id))
        self.template: Template = TemplateService(workbench).get(request.template_id)
        if self.template.status is not TemplateStatus.PUBLISHED:
            raise ValidationError(f"'{self.template.title}' is a {self.template.status} template; publish it before generating.", "template_id")
        self._check_mode()
        self.renderer: MessageRenderer = prepare_messages(self.template)
        self.few_shot = TemplateFewShot.for_template(workbench, self.template)
        self.default_constraints = constraints_from_tags(self.sheet.tags)
        self._labels = CanonicalLabelService(workbench)
        self._reuse: dict[str, ReusableLabel] | None = None
        self._effective: dict[UsageConstraints, UsageConstraints] = {}  # labels share a handful of constraint sets
        self._workbench = workbench
        self._drafter: Drafter | None = None

    @property
    def reuse(self) -> dict[str, ReusableLabel]:
        """The canonical labels this run reuses: loaded on first use, in one query."""
        if self._reuse is None:
            self._reuse = self._labels.reusable(self.sheet.id, self.template.label_type)
        return self._reuse

    def reusable_count(self) -> int:
        return self._labels.count(self.sheet.id, self.template.label_type)

    def _check_mode(self) -> None:
        mode = self.request.labeling_mode
        if self.request.in_warehouse:
            self._check_warehouse()
        if mode == LabelingMode.CANONICAL:
            raise ValidationError("Choose AI-generated, manual or existing column; canonical reuse happens by itself.", "labeling_mode")
        if mode == LabelingMode.EXISTING_COLUMN:
            columns = self.sheets.check_for_reading(self.sheet).primary.column_names
            if not self.request.source_column or self.request.source_column not in columns:
                raise ValidationError("Choose the column that holds each item's answer.", "source_column")

    def _check_warehouse(self) -> None:
        if self.request.labeling_mode != LabelingMode.AI_GENERATED:
            raise ValidationError("Generating in the warehouse drafts with ai_query: choose the AI-generated mode.", "in_warehouse")
        columns = list(self.sheets.check_for_reading(self.sheet).query.columns)  # joined tables' columns too
        if self.template.retrieved_examples_k:
            raise ValidationError(f"'{self.template.title}' retrieves few-shot examples per item, which ai_query cannot: generate it in the app.", "in_warehouse")
        if reason := why_not_in_warehouse(self.template, columns):
            raise ValidationError(f"'{self.template.title}' cannot run in the warehouse: {reason}. Generate it in the app.", "in_warehouse")
        settings = self._settings
        if not settings.is_databricks and not settings.llm_base_url:
            raise ValidationError(
                "On the embedded store ai_query is answered by a model server: set WORKBENCH_LLM_BASE_URL, or generate in the app.",
                "in_warehouse",
            )

    def warehouse_statement(self, training_sheet_id: str) -> tuple[str, dict[str, Any]]:
        checked = self.sheets.check_for_reading(self.sheet)
        prompt = prompt_sql(self.template.user_prompt_template, list(checked.query.columns))
        assert prompt is not None  # checked when the plan was made
        wb = self._workbench
        sql = insert_statement(wb.table("qa_pairs"), wb.table("canonical_labels"), checked.query, self.sheet.item_ref_column, prompt, self.template)
        endpoint = self.template.base_model or self._settings.serving_endpoint
        params = statement_params(training_sheet_id, self.sheet.id, self.template, endpoint, prompt, checked.query, self.sheet.tags)
        return sql, params

    @property
    def drafter(self) -> Drafter:
        if self._drafter is None:
            self._drafter = choose_drafter(self._workbench, self.template, self.labeled_examples, self.request.attach_pdf_pages)
        return self._drafter

    def labeled_examples(self) -> list[LabeledExample]:
        """The labeled items the offline drafter draws on: all of them, or a fixed sample of a large sheet's."""
        refs = sorted(self.reuse, key=_sample_order)[:MAX_LABELED_EXAMPLES]
        return [
            LabeledExample(ItemInput(item.item_ref, item.fields, _image_paths(item)), self.reuse[item.item_ref].response)
            for item in self.sheets.items_for_refs(self.sheet, refs)
        ]

    def render(self, item: SheetItem) -> tuple[tuple[RenderedMessage, ...], tuple[str, ...]]:
        """The item's messages, with the examples retrieved for it when the template asks, and their ids."""
        return self.few_shot.complete(self.renderer.render(item_values(item.item_ref, item.fields, [m.path for m in item.media])))

    def plan_items(self, items: list[tuple[int, SheetItem]], should_stop: Callable[[], bool] | None = None) -> list[PlannedPair]:
        planned, to_draft, used = [], [], {}
        for ordinal, item in items:
            messages, used[item.item_ref] = self.render(item)
            media = tuple(m.path for m in item.media)
            label = self.reuse.get(item.item_ref)
            if label is not None:
                planned.append(self._canonical(ordinal, item, messages, media, label))
            elif self.request.labeling_mode == LabelingMode.AI_GENERATED:
                to_draft.append((ordinal, item, messages, media))
            else:
                planned.append(self._from_mode(ordinal, item, messages, media))
        planned += self._drafted(to_draft, should_stop)
        # Most templates retrieve no examples: a pair is copied only when it has ids to carry.
        return sorted(
            (replace(p, few_shot_example_ids=used[p.item_ref]) if used[p.item_ref] else p for p in planned), key=lambda p: p.ordinal,
        )

    def effective(self, label_constraints: UsageConstraints) -> UsageConstraints:
        """The label's constraints tightened by the source's tags as they are now."""
        found = self._effective.get(label_constraints)
        if found is None:
            found = self._effective[label_constraints] = effective_constraints(label_constraints, self.sheet.tags)
        return found

    def _canonical(self, ordinal: int, item: SheetItem, messages: tuple, media: tuple, label: ReusableLabel) -> PlannedPair:
        return PlannedPair(
            item.item_ref, ordinal, messages, label.response, PairStatus.LABELED, LabelingMode.CANONICAL,
            self.effective(label.constraints), media, label.id,
        )

    def _from_mode(self, ordinal: int, item: SheetItem, messages: tuple, media: tuple) -> PlannedPair:
        mode = self.request.labeling_mode
        if mode == LabelingMode.EXISTING_COLUMN:
            value = item.fields.get(self.request.source_column or "")
            response = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
            status = PairStatus.LABELED if self.request.trust_source_column and value is not None else PairStatus.UNLABELED
            return PlannedPair(item.item_ref, ordinal, messages, response if value is not None else "", status, mode, self.default_constraints, media)
        return PlannedPair(item.item_ref, ordinal, messages, "", PairStatus.UNLABELED, mode, self.default_constraints, media)

    def _drafted(self, items: list[tuple[int, SheetItem, tuple, tuple]], should_stop: Callable[[], bool] | None) -> list[PlannedPair]:
        if not items:
            return []
        by_ref = {item.item_ref: (ordinal, item, messages, media) for ordinal, item, messages, media in items}
        requests = [
            DraftRequest(item.item_ref, messages, _image_paths(item), tuple(m.path for m in item.media if m.kind == "pdf"), item.fields)
            for _, item, messages, _ in items
        ]
        planned = []
        for draft in self.drafter.draft(requests, should_stop):
            ordinal, item, messages, media = by_ref[draft.item_ref]
            planned.append(
                PlannedPair(
                    item.item_ref, ordinal, messages, draft.text or "", PairStatus.UNLABELED, LabelingMode.AI_GENERATED,
                    self.default_constraints, media, None, draft.confidence, draft.error, draft,
                )
            )
        return planned


def _image_paths(item: SheetItem) -> tuple[str, ...]:
    return tuple(m.path for m in item.media if m.kind in _IMAGE_KINDS)


def _sample_order(item_ref: str) -> str:
    """A fixed pseudo-random order of items: the same sample on every run, spread over the sheet."""
    return hashlib.blake2b(item_ref.encode(), digest_size=8).hexdigest()


def _encoded(role: str, content: str) -> str:
    return f'{{"role": {encode_basestring(role)}, "content": {encode_basestring(content)}}}'


def _messages_json(messages: tuple[RenderedMessage, ...], response: str) -> str:
    """The chat-format JSON of a pair; same text as json.dumps of the list, built piecewise
    because the system and few-shot messages are shared by every pair of a run."""
    parts = [_shared_encoded(m) if m.role != "user" or m is not messages[-1] else _encoded(m.role, m.content) for m in messages]
    return "[" + ", ".join([*parts, _encoded("assistant", response)]) + "]"


@functools.lru_cache(maxsize=256)
def _shared_encoded(message: RenderedMessage) -> str:
    return _encoded(message.role, message.content)


def _pairs_frame(training_sheet: TrainingSheet, sheet_id: str, pairs: list[PlannedPair]) -> pd.DataFrame:
    """One batch of pairs as columns (built column-wise: a frame of 5,000 rows a step)."""
    now = pd.Timestamp.now(tz=UTC)
    drafts = [p.draft for p in pairs]
    canonical = LabelingMode.CANONICAL.value
    columns: dict[str, Any] = {
        "id": [pair_id(training_sheet.id, p.item_ref) for p in pairs],
        "training_sheet_id": training_sheet.id,
        "sheet_id": sheet_id,
        "item_ref": [p.item_ref for p in pairs],
        "ordinal": [p.ordinal for p in pairs],
        "label_type": training_sheet.label_type,
        "messages": [_messages_json(p.messages, p.response) for p in pairs],
        "original_response": [None if p.labeling_mode == canonical else p.response for p in pairs],
        "media_refs": [list(p.media_refs) for p in pairs],
        "canonical_label_id": [p.canonical_label_id for p in pairs],
        "status": [str(p.status) for p in pairs],
        "labeling_mode": [str(p.labeling_mode) for p in pairs],
        "allowed_uses": [list(p.constraints.allowed_uses) for p in pairs],
        "prohibited_uses": [list(p.constraints.prohibited_uses) for p in pairs],
        "usage_reason": [p.constraints.usage_reason for p in pairs],
        "data_classification": [str(p.constraints.data_classification) for p in pairs],
        "ai_confidence": pd.array([p.ai_confidence for p in pairs], dtype="Float64"),
        "generation_error": [p.error for p in pairs],
        "prompt_tokens": pd.array([d.prompt_tokens if d else None for d in drafts], dtype="Int64"),
        "completion_tokens": pd.array([d.completion_tokens if d else None for d in drafts], dtype="Int64"),
        "latency_ms": pd.array([d.latency_ms if d else None for d in drafts], dtype="Float64"),
        "created_at": now,
        "updated_at": now,
        "row_version": 1,
    }
    if any(p.few_shot_example_ids for p in pairs):
        columns["few_shot_example_ids"] = [list(p.few_shot_example_ids) or None for p in pairs]
    return pd.DataFrame(columns, index=range(len(pairs)))


class _PipelinedWriter:
    """Inserts one batch while the next is being built: the insert runs in DuckDB or on the
    warehouse without the GIL, so it overlaps the Python work of rendering the next batch.
    At most one batch is in flight, so order and memory stay bounded."""

    def __init__(self, pairs: QaPairsStore) -> None:
        self._pairs = pairs
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pair-writer")
        self._pending: Future[int] | None = None

    def write(self, frame: pd.DataFrame) -> None:
        self.flush()
        self._pending = self._executor.submit(self._pairs.insert_frame, frame)

    def flush(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # an insert's error surfaces here, in the job

    def __enter__(self) -> _PipelinedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.flush()
        finally:
            self._executor.shutdown(wait=True)


class GenerationWork:
    """The job: plan and insert pairs batch by batch, skipping items that already have one."""

    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        self._wb = workbench
        self._training_sheets = _training_sheets_store(workbench)
        training_sheet = self._training_sheets.get(str(params.get("training_sheet_id", "")))
        if training_sheet is None:
            raise ValidationError("That Training Sheet no longer exists.", "training_sheet_id")
        self.training_sheet = training_sheet
        self._pairs = QaPairsStore(workbench.backend.engine, workbench.table("qa_pairs"))
        self._calibration_kept = False

    def run(self, context: JobContext) -> dict[str, Any]:
        ts = self.training_sheet
        request = replace(request_for(ts), name=ts.name)
        plan = _Plan(self._wb, request)
        self._training_sheets.set_status(ts.id, TrainingSheetStatus.GENERATING)
        done = self._pairs.existing_refs(ts.id)
        total = plan.sheets.item_count(plan.sheet)
        step = DRAFT_BATCH if request.labeling_mode == LabelingMode.AI_GENERATED else ITEM_BATCH
        processed, ordinal = len(done), 0
        context.report(processed, total)
        if request.in_warehouse:
            return self._run_in_warehouse(plan, total, context)
        with _PipelinedWriter(self._pairs) as writer:
            for batch in plan.sheets.iter_items(plan.sheet, ITEM_BATCH):
                todo = []
                for item in batch:
                    if item.item_ref not in done:
                        todo.append((ordinal, item))
                    ordinal += 1
                for start in range(0, len(todo), step):
                    if context.cancelled():
                        writer.flush()
                        return self._finish(TrainingSheetStatus.CANCELLED, processed, total)
                    chunk = todo[start : start + step]
                    planned = plan.plan_items(chunk, context.cancelled)
                    self._keep_calibration(plan)
                    writer.write(_pairs_frame(ts, plan.sheet.id, planned))
                    processed += len(planned)
                    context.report(processed, total)
                    if len(planned) < len(chunk):  # the drafter stopped early: a cancel arrived
                        writer.flush()
                        return self._finish(TrainingSheetStatus.CANCELLED, processed, total)
        return self._finish(TrainingSheetStatus.REVIEW, processed, total, drafter=plan._drafter.describe() if plan._drafter else None)

    def _keep_calibration(self, plan: _Plan) -> None:
        """Once the drafter has been measured, the Training Sheet keeps its record: the review
        card and the bulk approval read what a confidence means from it."""
        calibration = plan._drafter.calibration if plan._drafter else None
        if calibration is None or self._calibration_kept:
            return
        config = {**self.training_sheet.generation_config, CONFIG_KEY: calibration.to_json()}
        self._training_sheets.set_generation_config(self.training_sheet.id, config)
        self._calibration_kept = True

    def _run_in_warehouse(self, plan: _Plan, total: int, context: JobContext) -> dict[str, Any]:
        """One statement: progress jumps from what was done to all; a cancel waits for it to end."""
        sql, params = plan.warehouse_statement(self.training_sheet.id)
        self._wb.backend.engine.execute(sql, params)
        context.report(total, total)
        endpoint = params["endpoint"]
        return self._finish(TrainingSheetStatus.REVIEW, total, total, drafter=f"ai_query('{endpoint}') in the SQL warehouse, one statement")

    def _finish(self, status: TrainingSheetStatus, processed: int, total: int, drafter: str | None = None) -> dict[str, Any]:
        counts = self._pairs.status_counts(self.training_sheet.id)
        self._training_sheets.set_status(self.training_sheet.id, status, completed=status == TrainingSheetStatus.REVIEW, **counts)
        return {"status": str(status), "processed": processed, "total": total, **counts, **({"drafter": drafter} if drafter else {})}


register_job_type(JOB_TYPE, GenerationWork)


def _training_sheets_store(workbench: Workbench) -> TrainingSheetsStore:
    return TrainingSheetsStore(workbench.backend.engine, workbench.table("training_sheets"), workbench.table("qa_pairs"))


class GenerationService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._store = _training_sheets_store(workbench)
        self._pairs = QaPairsStore(workbench.backend.engine, workbench.table("qa_pairs"))

    def preview(self, request: GenerationRequest, n: int = PREVIEW_ITEMS) -> tuple[list[PlannedPair], str | None, DraftCalibration | None]:
        """The first n pairs as they would be made, who drafts (None when nothing is drafted) and
        what the drafter's confidences mean (None when not measured); writes nothing."""
        plan = _Plan(self._wb, request)
        first = next(plan.sheets.iter_items(plan.sheet, n), [])
        planned = plan.plan_items(list(enumerate(first[:n])))
        drafter = plan._drafter
        return planned, drafter.describe() if drafter else None, drafter.calibration if drafter else None

    def start(self, request: GenerationRequest) -> TrainingSheet:
        plan = _Plan(self._wb, request)
        job_id = new_job_id()
        training_sheet = TrainingSheet(
            id=str(uuid.uuid4()),
            name=self._unique_name(request.name.strip() or f"{plan.sheet.name} · {plan.template.name} v{plan.template.version}"),
            sheet_id=plan.sheet.id, template_id=plan.template.id, template_version=plan.template.version,
            label_type=plan.template.label_type, labeling_mode=str(request.labeling_mode), status=TrainingSheetStatus.GENERATING,
            generation_config={
                "source_column": request.source_column, "trust_source_column": request.trust_source_column,
                "attach_pdf_pages": request.attach_pdf_pages, "in_warehouse": request.in_warehouse,
                "template_name": plan.template.name, "base_model": plan.template.base_model,
                "source_tags": plan.sheet.tags, "canonical_labels_available": plan.reusable_count(),
            },
            job_id=job_id, created_by=self._wb.user.email,
        )
        self._store.insert(training_sheet)
        JobRunner(self._wb).submit(JOB_TYPE, {"training_sheet_id": training_sheet.id}, training_sheet_id=training_sheet.id, job_id=job_id)
        return self.get(training_sheet.id)

    def _unique_name(self, name: str) -> str:
        taken, candidate, n = self._store.names(), name, 2
        while candidate.lower() in taken:
            candidate, n = f"{name} ({n})", n + 1
        return candidate

    def get(self, training_sheet_id: str) -> TrainingSheet:
        found = self._store.get(training_sheet_id)
        if found is None:
            raise NotFoundError("That Training Sheet does not exist.")
        return found

    def list(self, sheet_id: str | None = None) -> list[TrainingSheet]:
        return self._store.list(sheet_id)

    def first_pairs(self, training_sheet_id: str, n: int = 20) -> list[QaPair]:
        return self._pairs.first(training_sheet_id, n)

    def count(self) -> int:
        return self._store.count()


def offline_calibration(workbench: Workbench, sheet_id: str, template_id: str) -> DraftCalibration:
    """How the offline drafter does on a sheet's expert labels of a template's type, measured
    leave-one-out (what `make bench` prints for each demo sheet)."""
    plan = _Plan(workbench, GenerationRequest(sheet_id, template_id, LabelingMode.AI_GENERATED))
    return offline_drafter(workbench, plan.template, plan.labeled_examples()).calibration


def request_for(training_sheet: TrainingSheet) -> GenerationRequest:
    """The request that made a Training Sheet (to regenerate it with another template)."""
    config = training_sheet.generation_config
    return replace(
        GenerationRequest(training_sheet.sheet_id, training_sheet.template_id, LabelingMode(training_sheet.labeling_mode)),
        source_column=config.get("source_column"), trust_source_column=bool(config.get("trust_source_column")),
        attach_pdf_pages=bool(config.get("attach_pdf_pages")), in_warehouse=bool(config.get("in_warehouse")),
    )
