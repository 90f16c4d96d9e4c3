"""Demo prompt templates, published: four for the invoices, four for the crystal inspections,
one for the telemetry. Their prompts use the demo tables' real columns, their input schemas
declare those columns, and their few-shot examples read like the demo's own rows."""

from __future__ import annotations

from services.core.domain.template import FewShotExample, FieldType, SchemaField, TemplateDraft
from services.data.sheets import SheetService
from services.demo.context import DemoContext, StepCounts
from services.demo.sheets import CRYSTALS_SHEET, INVOICES_SHEET, TELEMETRY_SHEET
from services.templates.prompt_templates import TemplateService

_S, _N, _I, _A, _B = FieldType.STRING, FieldType.NUMBER, FieldType.INTEGER, FieldType.ARRAY, FieldType.BOOLEAN
DEFECTS = ("inclusion", "crack", "delamination", "surface_contamination", "none")
SEVERITIES = ("none", "minor", "major", "critical")
DEPARTMENTS = ("cardiology", "emergency", "laboratory", "nuclear_medicine", "orthopedics", "radiation_oncology", "radiology")

_INVOICE_CONTEXT = (
    "Invoice {{ invoice_number }} dated {{ invoice_date }} from {{ provider_name }} (NPI {{ provider_npi }}), "
    "{{ page_count }} page(s), OCR confidence {{ parsing_confidence }}.\n\nOCR text:\n{{ extracted_text }}"
)
_CRYSTAL_CONTEXT = (
    "Inspection {{ inspection_id }} of a {{ crystal_type }} scintillator crystal (batch {{ batch_id }}, detector "
    "{{ detector_serial }}). Growth conditions: {{ temperature_c }} °C, {{ humidity_pct }} % RH, growth rate "
    "{{ growth_rate_mm_h }} mm/h. Measured light yield {{ light_yield }}, energy resolution {{ energy_resolution_pct }} %. "
    "The inspection image is attached."
)

INVOICE_INPUTS = (
    SchemaField("invoice_number", _S), SchemaField("invoice_date", _S, "YYYY-MM-DD"), SchemaField("provider_name", _S),
    SchemaField("provider_npi", _S, "10-digit National Provider Identifier"), SchemaField("page_count", _I),
    SchemaField("parsing_confidence", _N, "OCR confidence, 0 to 1"), SchemaField("extracted_text", _S, "the OCR text"),
)
CRYSTAL_INPUTS = (
    SchemaField("inspection_id", _S), SchemaField("crystal_type", _S, "NaI(Tl), CsI(Tl), BGO or LaBr3"),
    SchemaField("batch_id", _S), SchemaField("detector_serial", _S),
    SchemaField("temperature_c", _N, "growth room temperature, °C"), SchemaField("humidity_pct", _N, "relative humidity, %"),
    SchemaField("growth_rate_mm_h", _N, "crystal pulling rate, mm/h"), SchemaField("light_yield", _N, "photons per keV"),
    SchemaField("energy_resolution_pct", _N, "FWHM at 662 keV, %"),
    SchemaField("image_path", _S, "the inspection image, sent to the model with the prompt"),
)
TELEMETRY_INPUTS = (
    SchemaField("equipment_id", _S), SchemaField("equipment_type", _S), SchemaField("site", _S),
    SchemaField("recorded_at", _S, "timestamp of the reading"), SchemaField("temperature_c", _N, "°C"),
    SchemaField("hv_voltage", _N, "detector high voltage, V"), SchemaField("count_rate_cps", _N, "counts per second"),
    SchemaField("background_cps", _N, "background counts per second"), SchemaField("vibration_mm_s", _N, "RMS, mm/s"),
    SchemaField("power_draw_w", _N, "W"), SchemaField("hours_since_service", _I),
)
# Two inspections as the demo's rows read them (a clean NaI(Tl) and a fast-pulled CsI(Tl) with an
# inclusion): light yields in photons/keV, resolutions in % FWHM, in the generated rows' ranges.
CRYSTAL_EXAMPLES = (
    FewShotExample(
        {"inspection_id": "INSP-0412", "crystal_type": "NaI(Tl)", "batch_id": "XL-2512-N02",
         "detector_serial": "NAI-3X3-2541-02911", "temperature_c": 22.1, "humidity_pct": 35.4, "growth_rate_mm_h": 2.08,
         "light_yield": 38.2, "energy_resolution_pct": 6.95,
         "image_path": "/Volumes/mirion_vital/raw/crystal_images/INSP-0412.png"},
        '{"defect_type": "none", "severity": "none"}',
    ),
    FewShotExample(
        {"inspection_id": "INSP-0587", "crystal_type": "CsI(Tl)", "batch_id": "XL-2512-C03",
         "detector_serial": "CSI-SLB-2542-01377", "temperature_c": 22.6, "humidity_pct": 36.9, "growth_rate_mm_h": 2.41,
         "light_yield": 44.7, "energy_resolution_pct": 9.1,
         "image_path": "/Volumes/mirion_vital/raw/crystal_images/INSP-0587.png"},
        '{"defect_type": "inclusion", "severity": "major"}',
    ),
)


def _drafts(sheet_ids: dict[str, str]) -> list[TemplateDraft]:
    invoices, crystals, telemetry = sheet_ids["invoices"], sheet_ids["crystals"], sheet_ids["telemetry"]
    billing = "You are a medical billing specialist. Answer with one JSON object matching the output schema."
    inspector = "You are a scintillator crystal inspection expert at Mirion. Answer with one JSON object matching the output schema."
    return [
        TemplateDraft(
            "Invoice Entity Extraction", "entity_extraction", "Extract patient, insurance and billing entities from a medical invoice.",
            billing, "Extract the entities from this invoice.\n\n" + _INVOICE_CONTEXT,
            output_schema=(
                SchemaField("patient_name", _S), SchemaField("patient_dob", _S, "YYYY-MM-DD"), SchemaField("insurance_id", _S),
                SchemaField("invoice_number", _S), SchemaField("total_amount", _N), SchemaField("provider_name", _S),
                SchemaField("procedure_codes", _A, "CPT/HCPCS codes billed", required=False),
            ),
            base_model="databricks-meta-llama-3-3-70b-instruct", temperature=0.0, max_tokens=400, source_sheet_id=invoices, input_schema=INVOICE_INPUTS,
        ),
        TemplateDraft(
            "Invoice Triage", "classification", "Classify an invoice's urgency and the department that billed it.",
            billing, "Classify this invoice.\n\n" + _INVOICE_CONTEXT,
            output_schema=(
                SchemaField("urgency", _S, "routine, priority (second notice) or urgent (final notice)", choices=("routine", "priority", "urgent")),
                SchemaField("department", _S, choices=DEPARTMENTS),
            ),
            base_model="databricks-meta-llama-3-3-70b-instruct", temperature=0.0, max_tokens=100, source_sheet_id=invoices, input_schema=INVOICE_INPUTS,
        ),
        TemplateDraft(
            "Billing Summary", "summarization", "A two-sentence billing summary for a care coordinator.",
            billing, "Summarise this invoice in two sentences: services, provider, total and what the patient owes.\n\n" + _INVOICE_CONTEXT,
            output_schema=(SchemaField("text", _S, "the summary"),),
            base_model="databricks-meta-llama-3-3-70b-instruct", temperature=0.2, max_tokens=200, source_sheet_id=invoices, input_schema=INVOICE_INPUTS,
        ),
        TemplateDraft(
            "Document Type", "document_type", "Is this an invoice, a past-due notice, an EOB or a receipt?",
            billing, "What kind of billing document is this?\n\n" + _INVOICE_CONTEXT,
            output_schema=(SchemaField("document_type", _S, choices=("invoice", "past_due_notice", "eob", "receipt")),),
            base_model="databricks-meta-llama-3-3-70b-instruct", temperature=0.0, max_tokens=50, source_sheet_id=invoices, input_schema=INVOICE_INPUTS,
        ),
        TemplateDraft(
            "Defect Classification - Visual Inspection", "classification",
            "Mirion defect taxonomy: inclusions, cracks, delamination, surface contamination.",
            inspector, "Classify the defect visible in this crystal and its severity.\n\n" + _CRYSTAL_CONTEXT,
            output_schema=(SchemaField("defect_type", _S, choices=DEFECTS), SchemaField("severity", _S, choices=SEVERITIES)),
            base_model="databricks-llama-4-maverick", temperature=0.0, max_tokens=100, source_sheet_id=crystals, input_schema=CRYSTAL_INPUTS,
            examples=CRYSTAL_EXAMPLES,
        ),
        TemplateDraft(
            "Defect Localization", "localization", "Bounding boxes around each visible defect, in image pixels.",
            inspector, "Draw a bounding box around every defect in the attached image.\n\n" + _CRYSTAL_CONTEXT,
            output_schema=(SchemaField("boxes", _A, "objects with x_min, y_min, x_max, y_max and label"),),
            base_model="databricks-llama-4-maverick", temperature=0.0, max_tokens=300, source_sheet_id=crystals, input_schema=CRYSTAL_INPUTS,
        ),
        TemplateDraft(
            "Root Cause Analysis", "root_cause", "Likely cause of a defect from the growth and sensor context.",
            inspector, "What most likely caused this crystal's defect? Use the growth conditions.\n\n" + _CRYSTAL_CONTEXT,
            output_schema=(SchemaField("root_cause", _S), SchemaField("contributing_factors", _A, required=False)),
            base_model="databricks-llama-4-maverick", temperature=0.2, max_tokens=300, source_sheet_id=crystals, input_schema=CRYSTAL_INPUTS,
        ),
        TemplateDraft(
            "Pass/Fail Gate", "pass_fail", "Does the crystal pass final inspection?",
            inspector, "Should this crystal pass final inspection?\n\n" + _CRYSTAL_CONTEXT,
            output_schema=(SchemaField("decision", _S, choices=("pass", "fail")), SchemaField("reason", _S)),
            base_model="databricks-llama-4-maverick", temperature=0.0, max_tokens=120, source_sheet_id=crystals, input_schema=CRYSTAL_INPUTS,
        ),
        TemplateDraft(
            "Failure Risk - 7 Day", "classification", "Will this detector fail within a week, and how?",
            "You are a reliability engineer for radiation detection equipment. Answer with one JSON object.",
            "{{ equipment_type }} {{ equipment_id }} at {{ site }}, {{ recorded_at }}: temperature {{ temperature_c }} °C, "
            "HV {{ hv_voltage }} V, count rate {{ count_rate_cps }} cps (background {{ background_cps }}), vibration "
            "{{ vibration_mm_s }} mm/s, power {{ power_draw_w }} W, {{ hours_since_service }} h since service. Failure mode?",
            output_schema=(SchemaField("failure_mode", _S, "none, hv_supply_drift, detector_degradation or cooling_failure"),),
            base_model="databricks-meta-llama-3-3-70b-instruct", temperature=0.0, max_tokens=60, source_sheet_id=telemetry, input_schema=TELEMETRY_INPUTS,
        ),
    ]


def demo_sheet_ids(context: DemoContext) -> dict[str, str]:
    by_name = {s.name: s.id for s in SheetService(context.workbench).list()}
    return {"invoices": by_name[INVOICES_SHEET], "crystals": by_name[CRYSTALS_SHEET], "telemetry": by_name[TELEMETRY_SHEET]}


def seed(context: DemoContext) -> StepCounts:
    service = TemplateService(context.workbench)
    drafts = _drafts(demo_sheet_ids(context))
    for draft in drafts:
        service.publish(service.create(draft))
    return {"templates": len(drafts)}


def clear(context: DemoContext) -> None:
    names = [d.name for d in _drafts({"invoices": "", "crystals": "", "telemetry": ""})]
    context.workbench.backend.engine.execute(
        f"DELETE FROM {context.workbench.table('templates')} WHERE array_contains(:names, name)", {"names": names}
    )
