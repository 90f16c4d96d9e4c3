"""A Training Sheet to review, made the way a user makes one: a sheet over the invoice source,
a few canonical labels, a published template, and a generation job with the offline drafter
(which proposes each item the label of its most similar labeled item, with that similarity
as its AI confidence)."""

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


def build_review_setup(wb: Workbench, items: int = 40, with_source: bool = True) -> ReviewSetup:
    if with_source:
        build_invoice_source(wb)
    volume = SecondarySource(SourceKind.VOLUME, INVOICE_PDFS, "invoice_id")
    sheet = SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", secondary_sources=(volume,), sample_size=items))
    labels = CanonicalLabelService(wb)
    for ref, urgency in LABELED_REFS.items():
        labels.save(LabelKey(sheet.id, ref, "classification"), LabelContent({"urgency": urgency}), 0)
    template = publish_template(wb)
    return ReviewSetup(sheet, template, generate(wb, sheet.id, template.id))
