"""The demo data, generated once for this module into its own store, the way the app does on first start."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pymupdf
import pytest
from PIL import Image

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.domain.sheet import SheetDraft
from services.core.errors import ValidationError
from services.core.workbench import Workbench, forget_prepared_stores
from services.data.sheets import SheetService
from services.demo import cli as demo_cli
from services.demo import crystals, ensure_demo_data, invoices, open_demo_ready_workbench, reset_demo_data, telemetry
from services.demo.context import DemoContext
from services.demo.crystal_image import IMAGE_SIZE, draw_crystal
from services.demo.invoice_pdf import read_text
from services.demo.sheets import DEMO_SHEET_NAMES
from services.demo.templates import CRYSTAL_INPUTS, INVOICE_INPUTS, TELEMETRY_INPUTS
from services.templates.prompt_templates import TemplateService
from tests.store_holder import store_held_by_another_process

INVOICES = "mirion_vital.raw.parsed_invoices"
INSPECTIONS = "mirion_vital.raw.inspection_records"
TELEMETRY = "mirion_vital.raw.equipment_telemetry"
PDF_VOLUME = "/Volumes/mirion_vital/raw/medical_invoices"
IMAGE_VOLUME = "/Volumes/mirion_vital/raw/crystal_images"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    """A store opened with demo data on, as a laptop's first start does."""
    home = tmp_path_factory.mktemp("demo") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_USER": "demo.expert@example.com"})
    forget_prepared_stores()
    yield open_demo_ready_workbench(settings)
    forget_prepared_stores()
    release_home(home)


def _rows(workbench: Workbench, table: str, key: str) -> pd.DataFrame:
    return workbench.backend.engine.query_df(f"SELECT * FROM {table} ORDER BY {key}")


def _file_digests(workbench: Workbench, volume: str) -> dict[str, str]:
    files = workbench.backend.files
    return {e.name: hashlib.sha256(files.read_bytes(e.path)).hexdigest() for e in files.list_directory(volume)}


def test_first_start_generates_invoices_images_telemetry_and_three_sheets(demo: Workbench) -> None:
    files = demo.backend.files
    pdfs = [e for e in files.list_directory(PDF_VOLUME) if e.name.endswith(".pdf")]
    pngs = [e for e in files.list_directory(IMAGE_VOLUME) if e.name.endswith(".png")]
    invoice_rows = _rows(demo, INVOICES, "invoice_id")
    inspection_rows = _rows(demo, INSPECTIONS, "inspection_id")

    assert len(pdfs) >= 60 and len(pngs) >= 120
    assert sorted(e.name for e in pdfs) == [f"{i}.pdf" for i in invoice_rows["invoice_id"]]
    assert sorted(e.name for e in pngs) == [f"{i}.png" for i in inspection_rows["inspection_id"]]
    assert demo.backend.engine.scalar(f"SELECT count(*) AS n FROM {TELEMETRY}") >= 5000
    sheets = {s.name: s for s in SheetService(demo).list()}
    assert set(sheets) == set(DEMO_SHEET_NAMES)
    assert sheets["Medical Invoices - January 2026"].row_count == len(invoice_rows)


def test_demo_sheets_show_each_item_with_its_file(demo: Workbench) -> None:
    service = SheetService(demo)
    sheets = {s.name: s for s in service.list()}
    invoice_page = service.items(sheets["Medical Invoices - January 2026"], limit=5)
    crystal_page = service.items(sheets["Defect Detection - Scintillator Crystals"], limit=5)
    telemetry_page = service.items(sheets["Predictive Maintenance - Detector Fleet Telemetry"], limit=5)

    assert [m.path for i in invoice_page.items for m in i.media] == [f"{PDF_VOLUME}/{i.item_ref}.pdf" for i in invoice_page.items]
    assert [m.kind for i in crystal_page.items for m in i.media] == ["image"] * 5
    assert telemetry_page.total >= 5000 and all(not i.media for i in telemetry_page.items)


def test_a_normal_invoice_text_is_read_from_its_pdf_and_shows_its_number_and_total(demo: Workbench) -> None:
    rows = _rows(demo, INVOICES, "invoice_id")
    readable = rows[rows["parsing_confidence"] > 0.9]

    assert len(readable) >= 60
    for row in readable.itertuples():
        text = row.extracted_text
        assert row.invoice_number in text and row.account_number in text and row.provider_npi in text
        assert f"${row.total_amount:,.2f}" in text
        assert read_text(demo.backend.files.read_bytes(row.pdf_path)).text == text
        assert 1 <= row.page_count <= 3
    assert set(readable["page_count"]) == {1, 2, 3}


def test_the_corrupt_invoice_does_not_open_yet_keeps_its_row(demo: Workbench) -> None:
    rows = _rows(demo, INVOICES, "invoice_id")
    broken = rows[rows["extracted_text"].isna()]

    assert len(broken) == 1
    row = broken.iloc[0]
    data = demo.backend.files.read_bytes(row["pdf_path"])
    assert data.startswith(b"%PDF") and len(data) == row["file_size_bytes"]
    with pytest.raises(pymupdf.FileDataError):
        pymupdf.open(stream=data, filetype="pdf")
    assert row["parsing_confidence"] == 0 and pd.isna(row["page_count"]) and row["invoice_number"]


def test_scanned_invoices_are_page_images_with_low_parsing_confidence(demo: Workbench) -> None:
    rows = _rows(demo, INVOICES, "invoice_id")
    scanned = rows[rows["extracted_text"].notna() & (rows["parsing_confidence"] < 0.2)]

    assert len(scanned) >= 3
    for row in scanned.itertuples():
        with pymupdf.open(stream=demo.backend.files.read_bytes(row.pdf_path), filetype="pdf") as pdf:
            assert all(page.get_images() for page in pdf)
        assert row.invoice_number not in row.extracted_text
        assert len(row.extracted_text) < 60 * row.page_count


def test_invoice_table_keeps_the_labels_to_check_against(demo: Workbench) -> None:
    rows = _rows(demo, INVOICES, "invoice_id")

    assert rows[["patient_name", "patient_dob", "insurance_id", "urgency", "department"]].notna().all().all()
    assert set(rows["urgency"]) == {"routine", "priority", "urgent"}
    assert rows["department"].nunique() >= 5 and rows["provider_name"].nunique() >= 5
    assert rows["invoice_date"].astype(str).str.startswith("2026-01").all()


def test_every_image_has_boxes_exactly_when_it_shows_a_defect(demo: Workbench) -> None:
    rows = _rows(demo, INSPECTIONS, "inspection_id")

    assert set(rows["defect_type"]) == {"none", "inclusion", "crack", "delamination", "surface_contamination"}
    for row in rows.itertuples():
        boxes = json.loads(row.defect_boxes)
        assert bool(boxes) == (row.defect_type != "none") == (row.severity != "none")
        for box in boxes:
            x_min, y_min, x_max, y_max = box["box"]
            assert box["label"] == row.defect_type
            assert 0 <= x_min < x_max < IMAGE_SIZE and 0 <= y_min < y_max < IMAGE_SIZE
    with Image.open(io.BytesIO(demo.backend.files.read_bytes(rows["image_path"].iloc[0]))) as image:
        assert image.size == (IMAGE_SIZE, IMAGE_SIZE)


def test_a_defect_changes_the_pixels_inside_its_box(demo: Workbench) -> None:
    """Redraw a defective crystal's scene without the defect: the difference lies in the boxes."""
    context = DemoContext(demo, demo.settings.demo_seed)
    inspection = next(i for i in crystals.build_inspections(context.random("crystals"), context.seed) if i.defect_type == "crack")
    drawn = draw_crystal(inspection.spec)
    clean = draw_crystal(replace(inspection.spec, defect_type="none", severity="none"))
    with Image.open(io.BytesIO(drawn.png)) as a, Image.open(io.BytesIO(clean.png)) as b:
        difference = np.abs(np.asarray(a.convert("L"), np.int16) - np.asarray(b.convert("L"), np.int16))
    changed = difference > 40

    assert changed.sum() > 20
    inside = sum(changed[b.y_min : b.y_max + 1, b.x_min : b.x_max + 1].sum() for b in drawn.boxes)
    assert inside == changed.sum()


def test_sensor_readings_follow_the_defects(demo: Workbench) -> None:
    rows = _rows(demo, INSPECTIONS, "inspection_id")
    by_defect = rows.groupby("defect_type")[["temperature_c", "humidity_pct", "growth_rate_mm_h"]].mean()
    by_severity = rows.groupby("severity")["energy_resolution_pct"].mean()  # each crystal type has its own scale

    assert by_defect.loc["crack", "temperature_c"] > by_defect.loc["none", "temperature_c"] + 2
    assert by_defect.loc["delamination", "humidity_pct"] > by_defect.loc["none", "humidity_pct"] + 10
    assert by_defect.loc["inclusion", "growth_rate_mm_h"] > by_defect.loc["none", "growth_rate_mm_h"]
    nai = rows[rows["crystal_type"] == "NaI(Tl)"].groupby("severity")["light_yield"].mean()
    assert nai["none"] > nai["minor"] > nai["critical"] and set(by_severity.index) == {"none", "minor", "major", "critical"}


def test_telemetry_drifts_before_each_failure_mode(demo: Workbench) -> None:
    rows = _rows(demo, TELEMETRY, "reading_id")
    labelled = rows[rows["failure_within_7d"]]

    assert rows["reading_id"].is_unique
    assert set(labelled["failure_mode"]) == {"hv_supply_drift", "detector_degradation", "cooling_failure"}
    assert rows.loc[~rows["failure_within_7d"], "failure_mode"].isna().all()
    assert set(rows["equipment_type"]) == {"gamma_spectrometer", "area_monitor", "portal_monitor"}
    cooling = labelled[labelled["failure_mode"] == "cooling_failure"]
    for unit, readings in cooling.groupby("equipment_id"):
        healthy = rows[(rows["equipment_id"] == unit) & ~rows["failure_within_7d"]]
        assert readings["temperature_c"].tail(24).mean() > healthy["temperature_c"].mean() + 3


def test_demo_tables_carry_their_governance_tags(demo: Workbench) -> None:
    catalog = demo.backend.catalog

    assert catalog.get_table(INVOICES).tags == {"PHI": "true", "data_domain": "billing"}
    assert catalog.get_table(INSPECTIONS).tags == {"CONFIDENTIAL": "true", "data_domain": "manufacturing"}
    assert catalog.get_table(TELEMETRY).tags == {"data_domain": "operations"}


def test_ensure_demo_data_leaves_a_seeded_store_alone(demo: Workbench) -> None:
    before = (_rows(demo, INVOICES, "invoice_id"), [s.id for s in SheetService(demo).list()])

    assert ensure_demo_data(demo) is None
    assert _rows(demo, INVOICES, "invoice_id").equals(before[0])
    assert [s.id for s in SheetService(demo).list()] == before[1]


def test_the_cli_reports_that_a_seeded_store_is_left_alone(demo: Workbench, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WORKBENCH_HOME", str(demo.settings.home))

    assert demo_cli.main([]) == 0
    assert "nothing generated" in capsys.readouterr().out


def test_the_cli_names_the_process_holding_the_store_and_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "held"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    with store_held_by_another_process(home) as holder:
        assert demo_cli.main(["--reset"]) == 1
    error = capsys.readouterr().err
    assert f"is open in another process (PID {holder.pid}: " in error
    assert "Stop that process, or point WORKBENCH_HOME at another folder." in error


def test_the_cli_generates_nothing_when_demo_data_is_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WORKBENCH_DEMO_DATA", "0")

    assert demo_cli.main([]) == 0
    assert "nothing generated" in capsys.readouterr().out
    assert not (tmp_path / "home").exists()


def test_reset_regenerates_the_same_rows_and_bytes_and_keeps_other_sheets(demo: Workbench) -> None:
    tables = {INVOICES: "invoice_id", INSPECTIONS: "inspection_id", TELEMETRY: "reading_id"}
    rows_before = {table: _rows(demo, table, key) for table, key in tables.items()}
    files_before = {volume: _file_digests(demo, volume) for volume in (PDF_VOLUME, IMAGE_VOLUME)}
    labels_before = _demo_labels(demo)
    service = SheetService(demo)
    own = service.create(SheetDraft("My telemetry slice", TELEMETRY, "reading_id"))
    demo_ids = {s.id for s in service.list() if s.name in DEMO_SHEET_NAMES}
    demo.backend.files.write_bytes(f"{IMAGE_VOLUME}/stray.png", b"not part of the demo")
    Path(demo.backend.files.local_path(f"{PDF_VOLUME}/invoice_001.pdf")).unlink()

    summary = reset_demo_data(demo)

    for table, key in tables.items():
        pd.testing.assert_frame_equal(_rows(demo, table, key), rows_before[table])
    assert {volume: _file_digests(demo, volume) for volume in files_before} == files_before
    pd.testing.assert_frame_equal(_demo_labels(demo), labels_before)
    sheets = service.list()
    assert own.id in {s.id for s in sheets}
    assert sorted(s.name for s in sheets if s.id != own.id) == sorted(DEMO_SHEET_NAMES)
    assert not demo_ids & {s.id for s in sheets}
    assert summary.count("invoices") == len(rows_before[INVOICES]) and summary.count("sheets") == 3
    assert [t.step for t in summary.timings] == [
        "medical_invoices", "crystal_inspections", "equipment_telemetry", "sheets", "canonical_labels", "templates", "training_sheets",
    ]


def _demo_labels(workbench: Workbench) -> pd.DataFrame:
    return workbench.backend.engine.query_df(
        "SELECT s.name AS sheet, l.item_ref, l.label_type, l.label_data, l.version, l.labeled_by, l.allowed_uses, "
        "l.prohibited_uses, l.usage_reason, l.data_classification FROM mirion_vital.workbench.canonical_labels AS l "
        "JOIN mirion_vital.workbench.sheets AS s ON s.id = l.sheet_id ORDER BY sheet, item_ref, label_type"
    )


def test_demo_experts_labeled_part_of_each_sheet_with_the_tables_ground_truth(demo: Workbench) -> None:
    labels = _demo_labels(demo)
    crystal_labels = labels[labels["sheet"] == "Defect Detection - Scintillator Crystals"]
    classified = crystal_labels[crystal_labels["label_type"] == "classification"]
    truth = _rows(demo, INSPECTIONS, "inspection_id").set_index("inspection_id")

    assert set(labels["sheet"]) == set(DEMO_SHEET_NAMES)
    assert 0.3 < len(classified) / len(truth) < 0.5  # part of the sheet: the rest is left for the demo to label
    for row in classified.itertuples():
        data = json.loads(row.label_data)
        assert (data["defect_type"], data["severity"]) == (truth.loc[row.item_ref, "defect_type"], truth.loc[row.item_ref, "severity"])
    for row in crystal_labels[crystal_labels["label_type"] == "localization"].itertuples():
        drawn = [b["box"] for b in json.loads(truth.loc[row.item_ref, "defect_boxes"])]
        assert [[b["x_min"], b["y_min"], b["x_max"], b["y_max"]] for b in json.loads(row.label_data)["boxes"]] == drawn
    invoice_labels = labels[labels["sheet"] == "Medical Invoices - January 2026"]
    assert {"classification", "entity_extraction", "document_type"} <= set(invoice_labels["label_type"])
    assert {"billing_expert@mirion.example", "clinical_expert@mirion.example", "qa_inspector@mirion.example"} <= set(labels["labeled_by"])


def test_demo_labels_carry_mixed_governance_and_some_history(demo: Workbench) -> None:
    labels = _demo_labels(demo)
    invoice_classes = labels[(labels["sheet"] == "Medical Invoices - January 2026") & (labels["label_type"] == "classification")]
    entities = labels[labels["label_type"] == "entity_extraction"]
    cleared = invoice_classes[invoice_classes["prohibited_uses"].map(len) == 0]

    assert 0 < len(cleared) < len(invoice_classes)  # some cleared for training, the rest still PHI-restricted
    assert all("training" in p for p in entities["prohibited_uses"]) and set(entities["data_classification"]) == {"restricted"}
    assert (labels["usage_reason"].str.startswith("Held-out test set")).sum() > 0
    assert (labels["version"] == 2).sum() > 0
    audited = demo.backend.engine.scalar("SELECT count(*) AS n FROM mirion_vital.workbench.usage_constraint_audit")
    assert audited == labels["usage_reason"].str.startswith(("Held-out", "No PHI", "A document type", "Contains identifiable")).sum()


def test_the_demo_leaves_train_ready_to_show_pairs_kept_out_for_stated_reasons(demo: Workbench) -> None:
    from services.train.exports import ExportService

    service = ExportService(demo)
    by_name = {t.name.split(" · ")[0]: t for t in service.training_sheets()}
    crystals_sheet = by_name["Defect Detection - Scintillator Crystals"]
    counts = service.summary([crystals_sheet.id]).total
    reasons = {r.short for r in counts.reasons}

    assert counts.training_allowed > 0 and counts.excluded_by_status > 0
    # The crystals' source is tagged CONFIDENTIAL (training allowed); the labels say why not.
    assert {reason.rsplit("label: ", 1)[-1] for reason in reasons} == {"Held-out test set", "Contains identifiable equipment serial numbers"}
    invoice_reasons = {r.short for r in service.summary([by_name["Medical Invoices - January 2026"].id]).total.reasons}
    assert all(reason.startswith("Source tagged PHI in Unity Catalog") for reason in invoice_reasons)
    plan = service.plan([crystals_sheet.id], service.default_config([crystals_sheet.id]))
    assert plan.config.stratify_field == "defect_type" and len(plan.strata) == 5 and plan.validation > 0


def test_a_different_seed_gives_different_data(demo: Workbench) -> None:
    ours, other = DemoContext(demo, demo.settings.demo_seed), DemoContext(demo, demo.settings.demo_seed + 1)
    first = crystals.build_inspections(ours.random("crystals"), ours.seed)
    second = crystals.build_inspections(other.random("crystals"), other.seed)

    assert [i.defect_type for i in first] != [i.defect_type for i in second]
    assert invoices.build_invoices(ours.random("invoices")) != invoices.build_invoices(other.random("invoices"))
    assert not telemetry.build_telemetry(ours.numpy("telemetry")).equals(telemetry.build_telemetry(other.numpy("telemetry")))
    spec = first[0].spec
    assert draw_crystal(spec).png != draw_crystal(replace(spec, drawing_seed=spec.drawing_seed + 1)).png


def test_an_empty_store_with_demo_data_off_gets_none_and_a_store_with_sheets_is_not_seeded(workbench: Workbench) -> None:
    assert not workbench.backend.catalog.list_tables("mirion_vital", "raw")
    workbench.backend.engine.execute("CREATE SCHEMA mirion_vital.elsewhere")
    workbench.backend.engine.execute("CREATE TABLE mirion_vital.elsewhere.readings AS SELECT 1 AS id")
    SheetService(workbench).create(SheetDraft("Readings", "mirion_vital.elsewhere.readings", "id"))

    assert ensure_demo_data(workbench) is None
    assert not workbench.backend.catalog.list_tables("mirion_vital", "raw")


def test_the_demo_refuses_to_write_into_a_databricks_workspace(workbench: Workbench) -> None:
    databricks = Workbench(replace(workbench.backend, settings=replace(workbench.settings, backend="databricks")))

    with pytest.raises(ValidationError, match="embedded store"):
        ensure_demo_data(databricks)
    with pytest.raises(ValidationError, match="embedded store"):
        reset_demo_data(databricks)


def test_every_demo_template_declares_its_inputs_and_they_are_its_sheets_columns(demo: Workbench) -> None:
    service = TemplateService(demo)
    templates = service.list()
    assert len(templates) == 9
    for template in templates:
        columns = set(service.sheet_columns(template.source_sheet_id))
        declared = {f.name for f in template.input_schema}
        assert declared, f"{template.name} declares no input fields"
        assert declared <= columns, f"{template.name}: {sorted(declared - columns)} are not columns of its sheet"
        service.check_for_publishing(template)  # every placeholder the prompt uses is declared
    assert {f.name for f in CRYSTAL_INPUTS} >= {"image_path", "light_yield"}
    assert {f.name for f in INVOICE_INPUTS} >= {"extracted_text"} and {f.name for f in TELEMETRY_INPUTS} >= {"hv_voltage"}


def test_few_shot_numbers_fall_in_the_range_of_the_demo_rows_of_the_same_kind(demo: Workbench) -> None:
    """A light yield of 0.97 where real rows read 25-65 would teach a model nonsense."""
    service = TemplateService(demo)
    sheets = SheetService(demo)
    with_examples = [t for t in service.list() if t.examples]
    assert with_examples
    for template in with_examples:
        table = sheets.get(template.source_sheet_id).primary_table
        for example in template.examples:
            rows = demo.backend.engine.query_df(f"SELECT * FROM {table}")
            if "crystal_type" in example.input:
                rows = rows[rows["crystal_type"] == example.input["crystal_type"]]
            assert not rows.empty
            for name, value in example.input.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    low, high = rows[name].min(), rows[name].max()
                    assert low <= value <= high, f"{template.name}: {name}={value} outside the rows' {low}..{high}"
