"""On the demo sheets, the offline drafter's confidence means what it says (issue 13, section 1).

Before, the crystal sheet's drafts named the right defect type for 16 of 90 items while every
confidence was 0.992-0.999. Now a draft's confidence is measured on the sheet's expert labels,
and the demo's ground truth (the raw table keeps each crystal's true defect) confirms it."""

import json

from bench.drafter_calibration import _measure
from services.demo import crystals
from services.generate.draft_calibration import calibration_of
from services.generate.generation import GenerationService


def test_the_crystal_drafts_are_measured_against_the_experts_and_the_truth_bears_them_out(demo):
    service = GenerationService(demo)
    training_sheet = next(t for t in service.list() if t.generation_config.get("template_name") == "Defect Classification - Visual Inspection")
    calibration = calibration_of(training_sheet)
    assert calibration.offered and calibration.accuracy > 2 * calibration.majority_accuracy
    truth = {r["inspection_id"]: r for r in demo.backend.engine.query(f"SELECT * FROM mirion_vital.raw.{crystals.TABLE}")}
    drafted = [p for p in service.first_pairs(training_sheet.id, 1000) if p.labeling_mode == "ai_generated"]
    assert len(drafted) == 90 and max(p.ai_confidence for p in drafted) < 0.95
    right_type = sum(json.loads(p.response)["defect_type"] == truth[p.item_ref]["defect_type"] for p in drafted)
    always_none = sum(truth[p.item_ref]["defect_type"] == "none" for p in drafted)
    assert right_type > always_none
    confident = [p for p in drafted if p.ai_confidence == calibration.bands[-1].agreement]
    right = sum(json.loads(p.response) == {k: truth[p.item_ref][k] for k in ("defect_type", "severity")} for p in confident)
    assert right >= 0.8 * len(confident) and len(confident) >= 10


def test_the_bench_reports_accuracy_beside_the_majority_answer_and_the_calibration_table_per_demo_sheet(demo):
    printed: list[str] = []
    rows = {r.case.split(": ", 1)[1].split(" (")[0]: r for r in _measure(demo, printed.append)}
    assert set(rows) == {
        "Crystals · classification", "Crystals · localization", "Invoices · classification", "Invoices · entity_extraction",
        "Invoices · document_type", "Invoices · summarization", "Telemetry · classification",
    }
    assert rows["Crystals · classification"].met and "offered" in rows["Crystals · classification"].detail
    assert "no drafts offered" in rows["Invoices · entity_extraction"].detail
    assert any(line.strip().startswith("confidence (raw score band)") for line in printed)
    assert any(line.strip().startswith("held out, defect_type: drafter") for line in printed)
