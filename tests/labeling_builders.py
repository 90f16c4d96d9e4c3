"""Small, real sources for the labeling tests: an invoice sheet and an image sheet with real PNGs."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from services.core.domain.sheet import SecondarySource, Sheet, SheetDraft, SourceKind
from services.core.domain.template import FieldType, SchemaField, Template, TemplateDraft
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.templates.prompt_templates import TemplateService
from tests.builders import INVOICE_PDFS, build_invoice_source

PHOTOS = "/Volumes/mirion_vital/raw/photos"
PHOTO_SIZE = (320, 240)


def invoice_sheet(workbench: Workbench, sample_size: int = 20, tags: dict[str, str] | None = None) -> Sheet:
    """The 200-invoice source (PDFs for INV-0000..0004) as a sheet of its first `sample_size` items."""
    build_invoice_source(workbench)
    workbench.backend.catalog.set_table_tags("mirion_vital.raw.invoices", tags if tags is not None else {"PHI": "true"})
    volume = SecondarySource(SourceKind.VOLUME, INVOICE_PDFS, "invoice_id")
    draft = SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", secondary_sources=(volume,), sample_size=sample_size)
    return SheetService(workbench).with_tags(SheetService(workbench).create(draft))


def png(colour: str, size: tuple[int, int] = PHOTO_SIZE) -> bytes:
    image = Image.new("RGB", size, "#202830")
    ImageDraw.Draw(image).ellipse((100, 60, 220, 180), fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def photo_sheet(workbench: Workbench, count: int = 6) -> Sheet:
    """`count` inspections, each with a 320x240 PNG, tagged CONFIDENTIAL."""
    engine = workbench.backend.engine
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    engine.execute(
        "CREATE TABLE mirion_vital.raw.inspections AS SELECT concat('INSP-', lpad(CAST(i AS STRING), 3, '0')) AS inspection_id, "
        "CASE WHEN i % 2 = 0 THEN 'crack' ELSE 'none' END AS defect_type FROM range(:n) AS t(i)",
        {"n": count},
    )
    for i in range(count):
        workbench.backend.files.write_bytes(f"{PHOTOS}/INSP-{i:03d}.png", png("#c0a040" if i % 2 else "#4080c0"))
    workbench.backend.catalog.set_table_tags("mirion_vital.raw.inspections", {"CONFIDENTIAL": "true"})
    volume = SecondarySource(SourceKind.VOLUME, PHOTOS, "inspection_id")
    sheet = SheetService(workbench).create(SheetDraft("Inspections", "mirion_vital.raw.inspections", "inspection_id", secondary_sources=(volume,)))
    return SheetService(workbench).with_tags(sheet)


def published_template(workbench: Workbench, label_type: str, fields: tuple[SchemaField, ...], sheet_id: str | None = None,
                       name: str | None = None) -> Template:
    service = TemplateService(workbench)
    prompt = "Label {{ invoice_id }}." if sheet_id is None else "Label this item."
    draft = TemplateDraft(name or f"{label_type} template", label_type, system_prompt="You label items.",
                          user_prompt_template=prompt, output_schema=fields, source_sheet_id=sheet_id)
    return service.publish(service.create(draft))


ENTITY_FIELDS = (
    SchemaField("patient_name", FieldType.STRING), SchemaField("total_amount", FieldType.NUMBER),
    SchemaField("procedure_codes", FieldType.ARRAY, required=False),
)
URGENCY_FIELDS = (SchemaField("urgency", FieldType.STRING, choices=("routine", "priority", "urgent")),)
