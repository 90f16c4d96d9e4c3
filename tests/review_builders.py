"""A Training Sheet to review, made the way a user makes one: a sheet over the invoice source,
canonical labels, a published template, and a generation job with the offline drafter.

The drafter offers drafts only when it measurably beats the majority answer on the sheet's
expert labels, so besides the three labels the reviewers start from (LABELED_REFS), experts
labeled the last twenty invoices (CALIBRATION_REFS): City Medical Center's are routine,
Lakeside Clinic's mostly urgent. The drafts of INV-0000..0039 then carry measured confidences
of two levels: City's invoices drafted routine, Lakeside's urgent with less certainty."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.qa_pair import LabelingMode, TrainingSheet
from services.core.domain.sheet import SecondarySource, Sheet, SheetDraft, SourceKind
from services.core.domain.template import FieldType, SchemaField, Template, TemplateDraft
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.generate.generation import GenerationRequest, GenerationService
from services.labels.canonical_labels import CanonicalLabelService
from services.templates.prompt_templates import TemplateService
from tests.builders import INVOICE_PDFS, build_invoice_source

GENERATION_WAIT_S = 120
LABELED_REFS = {"INV-0001": "routine", "INV-0002": "routine", "INV-0003": "urgent"}
# Lakeside Clinic (odd numbers) bills urgent invoices, with two routine exceptions.
CALIBRATION_REFS = {f"INV-{i:04d}": "routine" if i % 2 == 0 or i in (47, 53) else "urgent" for i in range(40, 60)}
REVIEW_ITEMS = 40  # the invoices drafted for review: INV-0000..0039
ITEMS = REVIEW_ITEMS + len(CALIBRATION_REFS)
STARTING_LABELS = len(LABELED_REFS) + len(CALIBRATION_REFS)  # the canonical labels before any review


@dataclass(frozen=True)
class ReviewSetup:
    sheet: Sheet
    template: Template
    training_sheet: TrainingSheet


def publish_template(wb: Workbench, label_type: str = "classification", name: str = "") -> Template:
    service = TemplateService(wb)
    free_text = label_type in ("qa", "generation", "summarization")
    schema = (
        (SchemaField("summary", FieldType.STRING),)
        if free_text
        else (SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")),)
    )
    draft = TemplateDraft(
        name=name or f"Invoice {label_type}",
        label_type=label_type,
        system_prompt="You triage medical invoices.",
        user_prompt_template="Invoice {{ invoice_id }} from {{ provider_name }} for {{ total_amount }}.",
        output_schema=schema,
    )
    return service.publish(service.create(draft))


def generate(wb: Workbench, sheet_id: str, template_id: str, mode: LabelingMode = LabelingMode.AI_GENERATED) -> TrainingSheet:
    service = GenerationService(wb)
    training_sheet = service.start(GenerationRequest(sheet_id, template_id, mode))
    job = JobRunner(wb).wait(training_sheet.job_id or "", GENERATION_WAIT_S)
    if job.status != "succeeded":
        raise AssertionError(f"generation ended {job.status}: {job.error}")
    return service.get(training_sheet.id)


def build_review_setup(wb: Workbench, items: int = ITEMS, with_source: bool = True) -> ReviewSetup:
    if with_source:
        build_invoice_source(wb)
    volume = SecondarySource(SourceKind.VOLUME, INVOICE_PDFS, "invoice_id")
    sheet = SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", secondary_sources=(volume,), sample_size=items))
    labels = CanonicalLabelService(wb)
    for ref, urgency in (LABELED_REFS | CALIBRATION_REFS).items():
        if int(ref[-4:]) < items:
            labels.save(LabelKey(sheet.id, ref, "classification"), LabelContent({"urgency": urgency}), 0)
    template = publish_template(wb)
    return ReviewSetup(sheet, template, generate(wb, sheet.id, template.id))
