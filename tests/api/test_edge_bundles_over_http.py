"""Edge bundles through the API on the real server: listed, streamed with their sha256, and an
export started (which fails, recorded, for a version whose weights are not here). The store is
seeded before the server starts (it then holds the DuckDB file)."""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from services.deploy.edge_bundle import EdgeBundle
from services.deploy.edge_exports import EdgeExports
from tests.api.test_api_over_http import call
from tests.browser.conftest import ServedApp, start_app, stop_app
from tests.deploy_builders import trained_model

JOB_WAIT_S = 60  # a failing export fails at once; never reached when it works
_POLL_S = 0.2


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApp, str]]:
    home = tmp_path_factory.mktemp("edge-api") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "expert@mirion.example"})
    forget_prepared_stores()
    workbench = open_workbench(settings)
    model = trained_model(workbench)
    archive = home / "edge-bundles" / "invoices_urgency_lora-v1-edge.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as bundle:  # a small archive standing in for the 0.5 GB one
        bundle.writestr("manifest.json", json.dumps({"model": model.model_id}))
    EdgeExports(workbench).record(model, EdgeBundle(
        path=archive, model_name=model.model_name, model_version=model.model_version, lineage_id=model.lineage_id,
        size_bytes=archive.stat().st_size, sha256=hashlib.sha256(archive.read_bytes()).hexdigest(), file_count=1,
        has_example_store=False, build_seconds=0.1, created_at=datetime.now(UTC), created_by="expert@mirion.example",
    ))
    forget_prepared_stores()
    release_home(home)
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app, model.model_id
    stop_app(app)


def test_a_built_bundle_is_listed_and_its_archive_streamed_with_its_sha256(served):
    app, model_id = served
    (bundle,) = call(f"{app.url}/api/v1/edge-bundles").json()["bundles"]
    assert (bundle["model_id"], bundle["status"], bundle["file_name"]) == (model_id, "ready", "invoices_urgency_lora-v1-edge.zip")
    reply = call(f"{app.url}{bundle['archive']}")
    assert reply.status == 200 and reply.headers["content-type"] == "application/zip"
    assert hashlib.sha256(reply.body).hexdigest() == bundle["sha256"] == reply.headers["x-content-sha256"]
    assert 'filename="invoices_urgency_lora-v1-edge.zip"' in reply.headers["content-disposition"]


def test_an_export_started_over_http_runs_as_a_job_and_its_failure_is_recorded(served):
    app, model_id = served
    started = call(f"{app.url}/api/v1/edge-bundles", "POST", json.dumps({"model_id": model_id}).encode(), {"Content-Type": "application/json"})
    assert started.status == 202 and started.json()["job_id"]
    deadline = time.monotonic() + JOB_WAIT_S
    while time.monotonic() < deadline:
        bundles = call(f"{app.url}/api/v1/edge-bundles").json()["bundles"]
        failed = [b for b in bundles if b["status"] == "failed"]
        if failed:
            break
        time.sleep(_POLL_S)
    (failure,) = failed
    assert failure["error"] and failure["archive"] is None and failure["created_by"] == "expert@mirion.example"


def test_an_unknown_bundle_or_model_is_a_json_404_and_a_bad_body_a_400(served):
    app, _ = served
    missing = call(f"{app.url}/api/v1/edge-bundles/nope/archive")
    assert missing.status == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    unknown = call(f"{app.url}/api/v1/edge-bundles", "POST", b'{"model_id": "nobody/9"}', {"Content-Type": "application/json"})
    assert unknown.status == 404
    bad = call(f"{app.url}/api/v1/edge-bundles", "POST", b'{"model": 1}', {"Content-Type": "application/json"})
    assert bad.status == 400 and "'model_id'" in bad.json()["error"]["message"]


