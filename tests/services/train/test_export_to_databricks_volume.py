"""An export written to a Unity Catalog volume through the real databricks-sdk Files API (REST fake)."""

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from data_access.volumes_databricks import DatabricksVolumeFiles
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.train.export_records import Split, SplitConfig, Stratify
from services.train.exports import ExportService
from tests.fakes.databricks_rest import FakeDatabricksRest
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
