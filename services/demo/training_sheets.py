"""Demo Training Sheets: one generated from each demo sheet, through the real generation job.

Run after the canonical-label step, so the invoice and crystal sheets show items arriving
pre-approved from canonical labels beside drafted ones (the offline drafter proposes from
those same labels); the telemetry sheet takes its answers from the failure_mode column.
"""

from __future__ import annotations

from services.core.domain.qa_pair import LabelingMode
from services.core.domain.template import TemplateStatus
from services.core.errors import WorkbenchError
from services.core.jobs import JobRunner
from services.demo.context import DemoContext, StepCounts
from services.demo.templates import demo_sheet_ids
from services.generate.generation import GenerationRequest, GenerationService
from services.templates.prompt_templates import TemplateService

GENERATION_TIMEOUT_S = 120  # the demo's largest sheet (10k telemetry rows) takes a few seconds

_PLAN = (
    ("invoices", "Invoice Triage", LabelingMode.AI_GENERATED, None),
    ("crystals", "Defect Classification - Visual Inspection", LabelingMode.AI_GENERATED, None),
    ("telemetry", "Failure Risk - 7 Day", LabelingMode.EXISTING_COLUMN, "failure_mode"),
)


def seed(context: DemoContext) -> StepCounts:
    wb = context.workbench
    sheets = demo_sheet_ids(context)
    templates = {t.name: t for t in TemplateService(wb).list(status=TemplateStatus.PUBLISHED)}
    service, runner = GenerationService(wb), JobRunner(wb)
    pairs = 0
    for sheet_key, template_name, mode, column in _PLAN:
        request = GenerationRequest(sheets[sheet_key], templates[template_name].id, mode, source_column=column)
        training_sheet = service.start(request)
        job = runner.wait(training_sheet.job_id, GENERATION_TIMEOUT_S)
        if job.status != "succeeded":
            raise WorkbenchError(f"Generating the demo Training Sheet '{training_sheet.name}' ended {job.status}: {job.error}")
        pairs += service.get(training_sheet.id).counts.total
    return {"training_sheets": len(_PLAN), "qa_pairs": pairs}


def clear(context: DemoContext) -> None:
    wb = context.workbench
    sheet_ids = list(demo_sheet_ids(context).values()) if _has_demo_sheets(context) else []
    for table in ("qa_pairs", "training_sheets"):
        wb.backend.engine.execute(f"DELETE FROM {wb.table(table)} WHERE array_contains(:ids, sheet_id)", {"ids": sheet_ids})


def _has_demo_sheets(context: DemoContext) -> bool:
    try:
        demo_sheet_ids(context)
    except KeyError:
        return False
    return True
