"""A Training Sheet's LABEL signals as a background job: every kind computed with its progress,
Cancel between kinds, Resume for the rest, and one job per sheet at a time."""

from __future__ import annotations

import threading

import numpy as np

from data_access.embeddings.embedder import Embedder
from data_access.embeddings.lexical import LexicalEmbedder
from services.core.jobs import JobRunner
from services.generate.generation import GenerationService
from services.review.signals import PairSignals
from services.review.signals_job import SignalsJobs
from tests.review_builders import build_review_setup
from tests.signal_builders import set_prompt

WAIT_S = 120


class GatedModel(Embedder):
    """The lexical model, held at its first embedding until the test lets it go."""

    def __init__(self) -> None:
        self._inner = LexicalEmbedder()
        self.name, self.dimension, self.is_semantic = self._inner.name, self._inner.dimension, False
        self.entered, self.gate = threading.Event(), threading.Event()

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        self.entered.set()
        self.gate.wait(WAIT_S)
        return self._inner.embed(texts)


def _sheet_with_one_personal_prompt(workbench) -> str:
    setup = build_review_setup(workbench, items=6)
    pair = GenerationService(workbench).first_pairs(setup.training_sheet.id, 10)[2]
    set_prompt(workbench, pair, "Patient: Jane Doe, phone (555) 123-4567")
    return setup.training_sheet.id


def test_a_signals_job_computes_every_kind_and_reports_each_step(workbench):
    ts = _sheet_with_one_personal_prompt(workbench)
    job_id = SignalsJobs(workbench, LexicalEmbedder()).start(ts)
    job = JobRunner(workbench).wait(job_id, WAIT_S)

    assert job.status == "succeeded" and (job.processed_items, job.total_items) == (3, 3)
    assert set(job.result["computed"]) == {"personal data", "near-duplicates", "quality"}
    signals = PairSignals(workbench, LexicalEmbedder())
    assert signals.stale_count(ts) == 0 and signals.flagged_counts(ts).get("pii") == 1


def test_a_cancelled_job_stops_between_kinds_and_resume_computes_the_rest_under_the_same_id(workbench):
    ts = _sheet_with_one_personal_prompt(workbench)
    model = GatedModel()
    jobs, runner = SignalsJobs(workbench, model), JobRunner(workbench)
    job_id = jobs.start(ts)
    assert model.entered.wait(WAIT_S)  # personal data done; near-duplicates embedding
    assert jobs.start(ts) == job_id  # one job per sheet at a time
    runner.cancel(job_id)
    model.gate.set()
    cancelled = runner.wait(job_id, WAIT_S)

    assert cancelled.status == "cancelled" and (cancelled.processed_items, cancelled.total_items) == (2, 3)
    assert PairSignals(workbench, LexicalEmbedder()).stale_count(ts) == 6  # quality was never computed
    runner.resume(job_id)
    assert runner.wait(job_id, WAIT_S).status == "succeeded"
    assert PairSignals(workbench, LexicalEmbedder()).stale_count(ts) == 0
    assert jobs.latest(ts).id == job_id


def test_two_people_starting_a_sheets_signals_at_once_start_one_job(workbench):
    ts = _sheet_with_one_personal_prompt(workbench)
    model = GatedModel()
    jobs, started = SignalsJobs(workbench, model), []
    threads = [threading.Thread(target=lambda: started.append(jobs.start(ts))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    model.gate.set()
    assert len(started) == 4 and len(set(started)) == 1
    assert JobRunner(workbench).wait(started[0], WAIT_S).status == "succeeded"
    assert len(JobRunner(workbench).recent(limit=10, training_sheet_id=ts, job_type="label_signals")) == 1
