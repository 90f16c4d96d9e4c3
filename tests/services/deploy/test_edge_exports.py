"""Export for edge as a job: a build that cannot happen is recorded failed, with its reason on the
job, and offers no download. (A real build, recorded and listed: test_edge_bundle.py.)"""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.core.domain.job import JobStatus
from services.core.errors import NotFoundError
from services.core.jobs import JobRunner
from services.deploy.edge_exports import EdgeExports
from services.deploy.records import DeploymentStatus
from tests.deploy_builders import trained_model
from tests.job_works import WAIT_S, stop_all_jobs


@pytest.fixture
def runner(workbench):
    runner = JobRunner(workbench)
    yield runner
    stop_all_jobs(runner)


def test_a_version_whose_weights_are_not_here_fails_its_export_and_is_recorded_failed(workbench, runner):
    model = trained_model(workbench)  # its run is recorded, but no weights were ever registered
    exports = EdgeExports(workbench)

    job = runner.wait(exports.start(model), WAIT_S)

    assert job.status is JobStatus.FAILED and "invoices_urgency_lora" in job.error
    (bundle,) = exports.bundles()
    assert (bundle.file_name, bundle.status, bundle.created_by) == ("invoices_urgency_lora-v1-edge.zip", DeploymentStatus.FAILED, "tester@example.com")
    assert bundle.error == job.error and not bundle.downloadable
    with pytest.raises(NotFoundError, match="export it again"):
        exports.open_archive(bundle.deployment_id)


def test_exporting_a_version_that_is_not_registered_is_refused_before_a_job_starts(workbench, runner):
    model = trained_model(workbench)
    with pytest.raises(NotFoundError):
        EdgeExports(workbench).start(replace(model, model_id="nobody/9"))
    assert runner.recent(job_type="edge_bundle") == [] and EdgeExports(workbench).bundles() == []
