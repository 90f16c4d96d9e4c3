"""An export written to a Unity Catalog volume through the real databricks-sdk Files API (REST fake)."""

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from data_access.backends import Backend
from data_access.catalog.databricks_browser import DatabricksCatalogBrowser
from data_access.identity import User
from data_access.schema.migrate import migrate
from data_access.settings import load_settings
from data_access.sql.databricks_engine import DatabricksSqlEngine
from data_access.volumes_databricks import DatabricksVolumeFiles
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.train.chat_jsonl import chat_line
from services.train.export_records import Split, SplitConfig, Stratify
from services.train.exports import ExportService
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.fakes.dbapi_fake import FakeWarehouse
from tests.train_builders import IMAGES, PairSpec, build_training_sheet


@pytest.fixture
def on_volumes(workbench) -> Iterator[tuple[Workbench, FakeDatabricksRest]]:
    with FakeDatabricksRest() as rest:
        rest.add_volume("mirion_vital.workbench.exports")
        yield Workbench(replace(workbench.backend, files=DatabricksVolumeFiles(rest.client()))), rest


def test_an_export_writes_its_three_files_to_the_volume_and_reads_them_back(on_volumes):
    wb, rest = on_volumes
    specs = [PairSpec(answer=json.dumps({"defect_type": ("crack", "none")[i % 2]}), media=(f"{IMAGES}/c{i}.png",)) for i in range(30)]
    sheet = build_training_sheet(wb, specs)
    service = ExportService(wb)

    job = JobRunner(wb).wait(service.start([sheet.id], SplitConfig(0.2, 4, Stratify.FIELD, "defect_type")), 120)

    assert job.status == "succeeded", job.error
    version = service.get(job.result["export_id"])
    assert version.directory == f"/Volumes/mirion_vital/workbench/exports/exports/{version.id}"
    assert {p for p in rest.files if p.startswith(version.directory)} == {version.train_path, version.validation_path, version.manifest_path}
    train = rest.files[version.train_path].data.decode().splitlines()
    assert len(train) == version.train_count == len(service.pair_ids(version.id, Split.TRAIN)) == 24
    assert json.loads(train[0])["messages"][1]["content"][1]["image_url"]["url"].startswith(IMAGES)
    assert service.file_bytes(version.manifest_path) == rest.files[version.manifest_path].data
    assert json.loads(service.file_bytes(version.manifest_path))["counts"]["validation_pairs"] == 6


def test_an_export_the_volume_refuses_fails_and_records_nothing(on_volumes):
    wb, rest = on_volumes
    rest.deny("/Volumes/mirion_vital/workbench/exports")
    sheet = build_training_sheet(wb, [PairSpec()] * 5)
    service = ExportService(wb)

    job = JobRunner(wb).wait(service.start([sheet.id], SplitConfig()), 120)

    assert job.status == "failed" and (job.error or "").startswith("The export could not be written") and "permission" in (job.error or "")
    assert service.versions() == [] and not rest.files
    assert wb.backend.engine.scalar(f"SELECT count(*) AS n FROM {wb.table('training_export_pairs')}") == 0


def test_an_export_runs_entirely_through_the_warehouse_engine_and_unity_catalog(tmp_path):
    """The same statements through DatabricksSqlEngine (a DB-API warehouse typed as connector 4.9
    types values), the tags through the SDK: a source tagged PHI after generation stays out."""
    settings = load_settings({"WORKBENCH_BACKEND": "databricks", "DATABRICKS_WAREHOUSE_ID": "abc123", "WORKBENCH_DEMO_DATA": "0",
                              "WORKBENCH_HOME": str(tmp_path / "home")})
    warehouse = FakeWarehouse()
    engine = DatabricksSqlEngine(warehouse.connect)
    try:
        with FakeDatabricksRest() as rest:
            client = rest.client("user-token")
            wb = Workbench(Backend(settings, engine, DatabricksVolumeFiles(client), DatabricksCatalogBrowser(client, engine),
                                   User("tester@example.com", "tester", access_token="user-token")))
            migrate(engine, settings)
            rest.add_volume("mirion_vital.workbench.exports")
            specs = [PairSpec(answer=json.dumps({"defect_type": ("crack", "none")[i % 2]}), media=(f"{IMAGES}/c{i}.png",) * (i % 2)) for i in range(20)]
            clean = build_training_sheet(wb, specs, name="Clean", source="mirion_vital.raw.crystals")
            clinic = build_training_sheet(wb, specs[:6], name="Clinic", source="mirion_vital.raw.clinic_crystals")
            rest.sync_tables_from(warehouse)
            wb.backend.catalog.set_table_tags("mirion_vital.raw.clinic_crystals", {"PHI": "true"})
            service = ExportService(wb)

            job = JobRunner(wb).wait(service.start([clean.id, clinic.id], SplitConfig(0.2, 4, Stratify.FIELD, "defect_type", oversample=True)), 120)

            assert job.status == "succeeded", job.error
            version = service.get(job.result["export_id"])
            manifest = json.loads(rest.files[version.manifest_path].data)
            assert {p["training_sheet_id"] for p in manifest["pairs"]} == {clean.id}
            assert (version.train_count, version.validation_count) == (16, 4)
            assert version.gate_counts.reasons_line == "6 Source tagged PHI in Unity Catalog"
            lines = rest.files[version.train_path].data.decode().splitlines()
            stored = {r["id"]: (r["messages"], tuple(r["media_refs"])) for r in engine.query(
                f"SELECT id, messages, media_refs FROM {wb.table('qa_pairs')} WHERE training_sheet_id = :id", {"id": clean.id})}
            train = [p for p in manifest["pairs"] if p["split"] == "train"]
            assert lines == [chat_line(*stored[p["qa_pair_id"]]) for p in train]  # byte for byte what chat_jsonl writes
    finally:
        engine.close()
        warehouse.close()
