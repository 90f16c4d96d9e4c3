"""Export for edge on the DEPLOY page: the bundle of a really trained model is built as a
background job, recorded in `deployments`, listed, and offered as a download. One model is
trained for the module (tests/trained_model.py)."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from services.core.domain.job import JobStatus
from services.core.jobs import JobRunner
from services.deploy.edge_exports import EdgeExports
from tests.mlflow_store import empty_mlflow_db  # noqa: F401 - fixture: the session's built MLflow store
from tests.pages.conftest import APP, PAGE_TIMEOUT_S
from tests.trained_model import TrainedModel, trained_model

pytestmark = pytest.mark.slow
BUILD_WAIT_S = 300  # zipping ~0.5 GB of weights on a busy 2-core machine; never reached when it works


@pytest.fixture(scope="module")
def trained(tmp_path_factory, empty_mlflow_db) -> Iterator[TrainedModel]:  # noqa: F811 - the imported fixture
    with trained_model(tmp_path_factory.mktemp("deploy-page-home"), empty_mlflow_db) as model:
        yield model


@pytest.fixture
def open_deploy(trained, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(trained.workbench.settings.home))
    monkeypatch.setenv("WORKBENCH_DEMO_DATA", "0")
    monkeypatch.setenv("WORKBENCH_USER", "tester@example.com")
    monkeypatch.delenv("WORKBENCH_BACKEND", raising=False)
    monkeypatch.delenv("DATABRICKS_WAREHOUSE_ID", raising=False)

    def _open() -> AppTest:
        app = AppTest.from_file(APP, default_timeout=PAGE_TIMEOUT_S)
        app.run()
        app.switch_page("pages/deploy.py")
        app.run()
        return app

    return _open


def test_export_for_edge_builds_the_bundle_in_the_background_records_it_and_offers_its_download(trained, open_deploy):
    run = trained.run
    model_id = f"{run.model_name}/{run.model_version}"
    app = open_deploy()
    assert not app.exception
    assert "Model Serving" not in [h.value for h in app.subheader]  # a laptop deploys locally
    assert any("No edge bundle yet" in i.value for i in app.info)

    next(b for b in app.button if b.key == "deploy_edge_export").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    job = JobRunner(trained.workbench).wait(app.session_state["deploy_edge_job"], BUILD_WAIT_S)
    assert job.status is JobStatus.SUCCEEDED, job.error
    app.run()

    assert not app.exception and not app.error, [e.value for e in app.error]
    (bundle,) = EdgeExports(trained.workbench).bundles()
    row = app.dataframe[-1].value.iloc[0]  # the bundles, below the version and the (empty) endpoints
    assert (row["Archive"], row["Version"], row["Status"], row["Exported by"]) == (
        f"{run.model_name}-v{run.model_version}-edge.zip", run.model_version, "ready", "tester@example.com")
    assert row["sha256"] == bundle.sha256 and row["Size"].endswith(" MB")
    assert app.download_button(key=f"deploy_edge_bundles_{bundle.deployment_id}").label == f"Download {bundle.file_name}"
    assert bundle.model_id == model_id and bundle.size_bytes == bundle.path.stat().st_size

    digest = hashlib.sha256()
    with EdgeExports(trained.workbench).open_archive(bundle.deployment_id) as archive:  # what the download streams
        for chunk in iter(lambda: archive.read(1 << 20), b""):
            digest.update(chunk)
    assert digest.hexdigest() == bundle.sha256
    with zipfile.ZipFile(bundle.path) as archive:
        assert "manifest.json" in archive.namelist()
