"""The export binds each source's CURRENT Unity Catalog tags, and fails closed when they cannot be read."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from data_access.catalog.databricks_browser import DatabricksCatalogBrowser
from services.core.domain.governance import ALL_USES
from services.core.errors import ValidationError
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.train.export_job import GATE_READING_FRESH_S, JOB_TYPE, ExportWork, GateReading
from services.train.export_records import ExportVersion, SplitConfig, Stratify
from services.train.exports import ExportRequest, ExportService
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.train_builders import IMAGES, PairSpec, build_training_sheet

CLEAN = "mirion_vital.raw.crystals"
LATER_PHI = "mirion_vital.raw.crystals_from_the_clinic"
ALL_IN = SplitConfig(0.25, 3, Stratify.NONE)


def _export(wb: Workbench, ids: list[str], config: SplitConfig = ALL_IN) -> ExportVersion:
    service = ExportService(wb)
    job = JobRunner(wb).wait(service.start(ids, config), 120)
    assert job.status == "succeeded", job.error
    return service.get(job.result["export_id"])


def _manifest(wb: Workbench, version: ExportVersion) -> dict:
    return json.loads(wb.backend.files.read_bytes(version.manifest_path))


def _crystals(n: int) -> list[PairSpec]:
    return [PairSpec(answer=json.dumps({"defect_type": ("crack", "none")[i % 2]})) for i in range(n)]


def test_a_source_tagged_phi_after_generation_keeps_its_pairs_out_with_the_reason(workbench):
    clean = build_training_sheet(workbench, _crystals(8), name="Clean", source=CLEAN)
    clinic = build_training_sheet(workbench, _crystals(6), name="Clinic", source=LATER_PHI)
    service = ExportService(workbench)
    assert service.summary([clinic.id]).total.training_allowed == 6  # as generated: nothing said PHI

    workbench.backend.catalog.set_table_tags(LATER_PHI, {"PHI": "patient names"})

    summary = service.summary([clinic.id, clean.id])
    assert (summary.total.training_allowed, summary.total.training_prohibited, summary.total.validation_allowed) == (8, 6, 8)
    assert [(r.reason, r.classification, r.pairs) for r in summary.total.reasons] == [("Source tagged PHI in Unity Catalog", "restricted", 6)]
    assert summary.total.reasons_line == "6 Source tagged PHI in Unity Catalog"
    with pytest.raises(ValidationError, match="training gate"):
        service.start([clinic.id], ALL_IN)

    version = _export(workbench, [clinic.id, clean.id])

    manifest = _manifest(workbench, version)
    assert {p["training_sheet_id"] for p in manifest["pairs"]} == {clean.id}
    assert version.train_count + version.validation_count == 8
    assert manifest["gate_counts"]["by_training_sheet"][clinic.id]["reasons"] == [
        {"reason": "Source tagged PHI in Unity Catalog", "classification": "restricted", "pairs": 6}
    ]
    assert version.gate_counts.reasons_line == "6 Source tagged PHI in Unity Catalog"


def test_an_export_job_that_starts_late_reads_the_tags_again_instead_of_those_read_when_it_was_asked(workbench):
    clinic = build_training_sheet(workbench, _crystals(6), name="Clinic", source=LATER_PHI)
    clean = build_training_sheet(workbench, _crystals(4), name="Clean", source=CLEAN)
    service = ExportService(workbench)
    request = service.checked_request(ExportRequest(str(uuid.uuid4()), [clinic.id, clean.id], ALL_IN).to_params())
    untagged = service.governance(request.training_sheet_ids)
    asked = GateReading(untagged, service.summary(request.training_sheet_ids), read_at=time.monotonic() - GATE_READING_FRESH_S - 1)
    workbench.backend.catalog.set_table_tags(LATER_PHI, {"PHI": "patient names"})  # while the job waited for a slot

    job = JobRunner(workbench).wait(JobRunner(workbench).submit(JOB_TYPE, request.to_params(), work=ExportWork(service, request, asked)), 120)

    version = service.get(job.result["export_id"])
    assert {p["training_sheet_id"] for p in _manifest(workbench, version)["pairs"]} == {clean.id}
    assert version.gate_counts.training_prohibited == 6


def test_a_tag_tightens_a_pairs_own_reason_and_names_both(workbench):
    held_out = PairSpec(allowed=("evaluation",), prohibited=("training", "validation"), reason="Held-out test set - no leakage")
    sheet = build_training_sheet(workbench, [*_crystals(3), held_out], name="Mixed", source=LATER_PHI)
    workbench.backend.catalog.set_table_tags(LATER_PHI, {"pii": ""})  # by its presence, in any case

    reasons = {r.reason: r.pairs for r in ExportService(workbench).summary([sheet.id]).total.reasons}

    assert reasons == {"Source tagged PII in Unity Catalog": 3, "Source tagged PII in Unity Catalog; label: Held-out test set - no leakage": 1}


def test_a_confidential_source_may_still_train_and_validate(workbench):
    sheet = build_training_sheet(workbench, _crystals(8), name="Confidential", source=LATER_PHI)
    workbench.backend.catalog.set_table_tags(LATER_PHI, {"CONFIDENTIAL": "true"})

    version = _export(workbench, [sheet.id])

    assert version.train_count + version.validation_count == 8 and version.gate_counts.training_prohibited == 0


def test_a_sheet_whose_source_cannot_be_read_exports_none_of_its_pairs_and_says_why(workbench):
    clean = build_training_sheet(workbench, _crystals(5), name="Clean", source=CLEAN)
    gone = build_training_sheet(workbench, _crystals(4), name="Gone", source=LATER_PHI)
    workbench.backend.engine.execute(f"DROP TABLE {LATER_PHI}")

    version = _export(workbench, [clean.id, gone.id])

    assert {p["training_sheet_id"] for p in _manifest(workbench, version)["pairs"]} == {clean.id}
    (reason,) = version.gate_counts.reasons
    assert reason.pairs == 4 and reason.classification == "restricted"
    assert reason.reason.startswith(f"Unity Catalog tags of {LATER_PHI} could not be read")


def test_a_training_sheet_whose_sheet_was_deleted_exports_nothing(workbench):
    sheet = build_training_sheet(workbench, _crystals(4), name="Orphan", source=LATER_PHI)
    workbench.backend.engine.execute(f"DELETE FROM {workbench.table('sheets')} WHERE id = :id", {"id": sheet.sheet_id})

    summary = ExportService(workbench).summary([sheet.id])

    assert summary.total.training_allowed == summary.total.validation_allowed == 0
    assert "could not be read (the sheet no longer exists)" in summary.total.reasons[0].reason


# -- on Databricks: the tags through the real SDK against the REST fake ----------------------
@pytest.fixture
def on_unity_catalog(workbench) -> Iterator[tuple[Workbench, FakeDatabricksRest]]:
    with FakeDatabricksRest() as rest:
        rest.add_table(CLEAN, [("crystal_id", "string")])
        rest.add_table(LATER_PHI, [("crystal_id", "string")])
        catalog = DatabricksCatalogBrowser(rest.client(), workbench.backend.engine)
        yield Workbench(replace(workbench.backend, catalog=catalog)), rest


def test_unity_catalog_tags_read_through_the_sdk_bind_the_export(on_unity_catalog):
    wb, _rest = on_unity_catalog
    clean = build_training_sheet(wb, _crystals(5), name="Clean", source=CLEAN)
    clinic = build_training_sheet(wb, _crystals(3), name="Clinic", source=LATER_PHI)
    wb.backend.catalog.set_table_tags(LATER_PHI, {"PHI": "true"})

    summary = ExportService(wb).summary([clean.id, clinic.id])

    assert summary.by_sheet[clinic.id].training_allowed == 0 and summary.by_sheet[clean.id].training_allowed == 5
    assert summary.total.reasons_line == "3 Source tagged PHI in Unity Catalog"


def test_a_table_unity_catalog_refuses_to_show_fails_closed(on_unity_catalog):
    wb, rest = on_unity_catalog
    clean = build_training_sheet(wb, _crystals(5), name="Clean", source=CLEAN)
    hidden = build_training_sheet(wb, _crystals(3), name="Hidden", source=LATER_PHI)
    rest.deny(LATER_PHI)

    summary = ExportService(wb).summary([clean.id, hidden.id])

    assert summary.by_sheet[hidden.id].training_allowed == summary.by_sheet[hidden.id].validation_allowed == 0
    assert "permission" in summary.total.reasons[0].reason and summary.by_sheet[clean.id].training_allowed == 5


# -- the property: under the tags as they are now, no exported line fails its gate ----------
_SOURCES = tuple(f"mirion_vital.raw.batch_{i}" for i in range(4))
_TAGGINGS = ({}, {"PHI": "true"}, {"PII": "x"}, {"CONFIDENTIAL": "1"}, {"confidential": "", "phi": ""}, None)  # None: the table is dropped
_STATUSES = ("labeled", "labeled", "labeled", "unlabeled", "rejected", "flagged")


def _tag_permits(tags: dict[str, str] | None, use: str) -> bool:
    """Invariant 8 as the PRD states it, independently of the code under test."""
    if tags is None:
        return False  # tags that cannot be read permit nothing
    keys = {k.upper() for k in tags}
    if keys & {"PHI", "PII"} and use in ("training", "validation"):
        return False
    return not ("CONFIDENTIAL" in keys and use not in ("training", "validation"))


def _spec(rng: random.Random, i: int) -> PairSpec:
    allowed = tuple(u for u in ALL_USES if rng.random() < 0.8)
    prohibited = tuple(u for u in ALL_USES if rng.random() < 0.15)
    media = (f"{IMAGES}/c{i}.png",) if rng.random() < 0.3 else ()
    return PairSpec(rng.choice(_STATUSES), allowed, prohibited, "random", "internal", json.dumps({"defect_type": rng.choice(("crack", "none"))}), media)


@pytest.mark.parametrize("seed", range(4))
def test_no_exported_line_comes_from_a_pair_failing_its_gate_under_the_current_tags(workbench, seed):
    rng = random.Random(seed)
    sheets, specs_of, tags_of = [], {}, {}
    for n, source in enumerate(_SOURCES):
        specs = [_spec(rng, i) for i in range(rng.randint(10, 40))]
        sheet = build_training_sheet(workbench, specs, name=f"Batch {seed}-{n}", source=source)
        sheets.append(sheet)
        specs_of[sheet.id] = {p["id"]: specs[p["ordinal"]] for p in workbench.backend.engine.query(
            f"SELECT id, ordinal FROM {workbench.table('qa_pairs')} WHERE training_sheet_id = :id", {"id": sheet.id})}
    clean = build_training_sheet(workbench, _crystals(4), name=f"Clean {seed}", source=CLEAN)  # something always exports
    sheets.append(clean)
    specs_of[clean.id] = {p["id"]: PairSpec() for p in workbench.backend.engine.query(
        f"SELECT id FROM {workbench.table('qa_pairs')} WHERE training_sheet_id = :id", {"id": clean.id})}
    tags_of[clean.id] = {}
    for sheet, source in zip(sheets, _SOURCES, strict=False):  # tagged after generation
        tags_of[sheet.id] = rng.choice(_TAGGINGS)
        if tags_of[sheet.id] is None:
            workbench.backend.engine.execute(f"DROP TABLE {source}")
        elif tags_of[sheet.id]:
            workbench.backend.catalog.set_table_tags(source, tags_of[sheet.id])

    version = _export(workbench, [s.id for s in sheets], SplitConfig(rng.choice((0.0, 0.2, 0.5)), seed, Stratify.FIELD, "defect_type"))

    def passes(sheet_id: str, pair_id: str, use: str) -> bool:
        spec = specs_of[sheet_id][pair_id]
        return spec.status == "labeled" and use in spec.allowed and use not in spec.prohibited and _tag_permits(tags_of[sheet_id], use)

    pairs = _manifest(workbench, version)["pairs"]
    use = {"train": "training", "validation": "validation"}
    assert all(passes(p["training_sheet_id"], p["qa_pair_id"], use[p["split"]]) for p in pairs)
    either = [(s, p) for s, by_id in specs_of.items() for p in by_id if passes(s, p, "training") or passes(s, p, "validation")]
    assert len(pairs) == len(either) == version.train_count + version.validation_count
    assert version.gate_counts.training_allowed == sum(passes(s, p, "training") for s, by_id in specs_of.items() for p in by_id)
