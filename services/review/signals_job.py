"""A Training Sheet's LABEL signals computed as a background job: a large backlog (a new
100,000-pair sheet) is scanned for personal data, grouped for near-duplicates and scored, one kind
after another, with progress, Cancel between kinds, and Resume (what was computed stays)."""

from __future__ import annotations

import threading
from typing import Any

from data_access.embeddings import Embedder
from services.core.domain.job import JobRun
from services.core.errors import ValidationError
from services.core.jobs import JobContext, JobRunner, register_job_type
from services.core.workbench import Workbench
from services.review.signals import PairSignals

JOB_TYPE = "label_signals"
_starting = threading.Lock()


class SignalsJobs:
    """What the LABEL page asks: start a sheet's signals job, and the sheet's latest one."""

    def __init__(self, workbench: Workbench, embedder: Embedder | None = None) -> None:
        self._wb = workbench
        self._embedder = embedder  # None: the configured model, opened only when the job embeds

    def start(self, training_sheet_id: str) -> str:
        # Two people clicking Compute at once (one app process serves every session) start one job.
        with _starting:
            running = self.latest(training_sheet_id)
            if running is not None and not running.is_finished:
                return running.id  # one at a time per sheet: a second would compute the same signals
            params = {"training_sheet_id": training_sheet_id}
            work = SignalsWork(self._wb, params, self._embedder)
            return JobRunner(self._wb).submit(JOB_TYPE, params, training_sheet_id=training_sheet_id, work=work)

    def latest(self, training_sheet_id: str) -> JobRun | None:
        jobs = JobRunner(self._wb).recent(limit=1, training_sheet_id=training_sheet_id, job_type=JOB_TYPE)
        return jobs[0] if jobs else None


class SignalsWork:
    def __init__(self, workbench: Workbench, params: dict[str, Any], embedder: Embedder | None = None) -> None:
        training_sheet_id = params.get("training_sheet_id")
        if not isinstance(training_sheet_id, str) or not training_sheet_id:
            raise ValidationError("Say which Training Sheet's signals to compute.", "training_sheet_id")
        self._signals = PairSignals(workbench, embedder)
        self._training_sheet_id = training_sheet_id

    def run(self, context: JobContext) -> dict[str, Any]:
        steps = self._signals.refresh_steps(self._training_sheet_id)
        computed: dict[str, int] = {}
        context.report(0, len(steps))
        for done, step in enumerate(steps, start=1):
            if context.cancelled():
                break
            computed[step.kind] = step.run()
            context.report(done, len(steps))
        return {"training_sheet_id": self._training_sheet_id, "computed": computed}


register_job_type(JOB_TYPE, SignalsWork)
