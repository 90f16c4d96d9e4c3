"""IMPROVE retrain on the real store: what waits, starting once per set of pairs, and the rules.

These tests start real retrain jobs and stop them at once (the real training run is
tests/services/improve/test_retrain_training.py)."""

from __future__ import annotations

import pytest

from services.core.errors import ValidationError
from services.core.jobs import JobRunner
from services.improve.retrain import RetrainService, previous_config, retrain_id
from services.improve.retrain_records import Retrain, RetrainStatus
from services.improve.retrain_store import RetrainStore
from services.train.runs_store import TrainingRunsStore
from tests.job_works import COUNTING_JOB, WAIT_S, create_items_table
from tests.retrain_builders import MODEL, approve_pairs, feedback_pairs, stop_jobs, trained_model_with_feedback


@pytest.fixture
def runner(workbench):
    runner = JobRunner(workbench)
    yield runner
    stop_jobs(runner)


def test_only_approved_feedback_derived_pairs_the_model_never_learned_from_wait(workbench):
    _, made = trained_model_with_feedback(workbench, approved=3, unapproved=2)
    waiting = RetrainService(workbench).waiting()
    assert [w.model_name for w in waiting] == [MODEL]
    assert sorted(waiting[0].pair_ids) == sorted(p for _, p in made[:3])  # the two unlabeled ones do not count
    assert sorted(waiting[0].feedback_ids) == sorted(f for f, _ in made[:3])
    assert waiting[0].model_version == "1"


def test_a_pair_the_training_gate_refuses_does_not_wait(workbench):
    _, made = trained_model_with_feedback(workbench, approved=2)
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('qa_pairs')} SET prohibited_uses = array('training') WHERE id = :id", {"id": made[0][1]}
    )
    assert RetrainService(workbench).waiting_for(MODEL).pair_ids == (made[1][1],)


def test_a_pair_whose_source_is_tagged_phi_since_does_not_wait(workbench):
    trained_model_with_feedback(workbench, approved=2)
    workbench.backend.catalog.set_table_tags("mirion_vital.raw.invoices", {"PHI": "true"})
    assert RetrainService(workbench).waiting() == []


def test_a_model_with_nothing_waiting_cannot_be_retrained(workbench):
    trained_model_with_feedback(workbench, approved=0, unapproved=1)
    with pytest.raises(ValidationError, match="No approved feedback-derived pairs wait"):
        RetrainService(workbench).start(MODEL)
    assert RetrainService(workbench).recent() == []


def test_a_retrain_repeats_the_previous_run_and_holds_its_pairs_so_they_start_nothing_twice(workbench, runner):
    _, made = trained_model_with_feedback(workbench, approved=2)
    service = RetrainService(workbench)
    retrain = service.start(MODEL)
    previous = TrainingRunsStore(workbench).get(retrain.previous_lineage_id)
    assert previous is not None and previous.model_name == MODEL
    assert retrain.id == retrain_id(MODEL, tuple(p for _, p in reversed(made)))  # order-free: derived from the set
    assert retrain.started_by == "tester@example.com" and not retrain.started_by_rule
    assert sorted(retrain.feedback_ids) == sorted(f for f, _ in made)
    assert previous_config(previous).max_steps == 2 and previous_config(previous).model_name == MODEL
    assert service.waiting_for(MODEL) is None  # held by the retrain under way
    with pytest.raises(ValidationError, match="No approved feedback-derived pairs wait"):
        service.start(MODEL)


def _failed_before_training(workbench, runner, retrain_id_):
    stop_jobs(runner)
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('retrains')} SET status = 'failed', lineage_id = NULL WHERE id = :id", {"id": retrain_id_}
    )


def test_the_same_pairs_never_start_a_second_retrain_a_person_retries_the_failed_one(workbench, runner):
    trained_model_with_feedback(workbench, approved=2)
    service = RetrainService(workbench)
    first = service.start(MODEL)
    _failed_before_training(workbench, runner, first.id)
    assert service.waiting_for(MODEL).pairs == 2  # free again once it failed ...
    again = service.start(MODEL)  # ... and the same retrain runs again, not a second one
    assert again.id == first.id and again.status is RetrainStatus.EXPORTING
    assert [r.id for r in service.recent()] == [first.id]


def test_a_rule_never_retries_a_retrain_that_failed(workbench, runner):
    trained_model_with_feedback(workbench, approved=2)
    service = RetrainService(workbench)
    first = service.start(MODEL)
    _failed_before_training(workbench, runner, first.id)
    service.save_rule(MODEL, 1, True)
    [check] = service.check_rules()
    assert check.retrain is None and "already started" in check.note
    assert service.get(first.id).status is RetrainStatus.FAILED


def test_a_retrain_whose_job_ended_while_exporting_reads_as_failed_and_frees_its_pairs(workbench):
    trained_model_with_feedback(workbench, approved=2)
    runner = JobRunner(workbench)
    create_items_table(workbench)
    ended = runner.submit(COUNTING_JOB, {"items": 0, "fail": "validation"})
    runner.wait(ended, WAIT_S)
    store = RetrainStore(workbench)
    [waiting] = store.waiting(store.trained_sheet_ids())
    store.claim(Retrain(retrain_id(MODEL, waiting.pair_ids), MODEL, waiting.lineage_id, waiting.pair_ids, waiting.feedback_ids,
                        "export-1", None, ended, RetrainStatus.EXPORTING, None, "tester@example.com", False, None))
    assert store.waiting(store.trained_sheet_ids()) == []  # held while it reads as exporting
    service = RetrainService(workbench)
    assert service.waiting_for(MODEL).pairs == 2
    [retrain] = service.recent()
    assert retrain.status is RetrainStatus.FAILED and retrain.error


def test_a_rule_starts_a_retrain_once_n_pairs_wait_and_records_each_check(workbench, runner):
    labeled, _ = trained_model_with_feedback(workbench, approved=2)
    service = RetrainService(workbench)
    service.save_rule(MODEL, 3, True)
    [check] = service.check_rules()
    assert (check.waiting_pairs, check.retrain) == (2, None)
    assert service.rules()[0].last_check_note == "2 of 3 approved feedback-derived pairs waiting."
    feedback_pairs(workbench, labeled.training_sheet.id, 1, first=2)
    [check] = service.check_rules()
    assert check.retrain is not None and check.retrain.started_by_rule and check.retrain.status is RetrainStatus.EXPORTING
    rule = service.rules()[0]
    assert rule.last_retrain_id == check.retrain.id and rule.last_run_started_at is not None and rule.last_waiting_pairs == 3
    [again] = service.check_rules()
    assert again.retrain is None and again.waiting_pairs == 0  # the pairs are held: nothing starts twice
    assert len(service.recent()) == 1


def test_a_switched_off_rule_is_kept_and_not_checked(workbench, runner):
    trained_model_with_feedback(workbench, approved=2)
    service = RetrainService(workbench)
    service.save_rule(MODEL, 1, False)
    assert service.check_rules() == []
    assert service.recent() == []
    [rule] = service.rules()
    assert (rule.enabled, rule.min_pairs, rule.created_by, rule.last_checked_at) == (False, 1, "tester@example.com", None)


def test_a_rule_needs_a_trained_model_and_a_sensible_n(workbench):
    trained_model_with_feedback(workbench, approved=0)
    service = RetrainService(workbench)
    with pytest.raises(ValidationError, match="between 1 and"):
        service.save_rule(MODEL, 0, True)
    with pytest.raises(ValidationError, match="no succeeded training run"):
        service.save_rule("never_trained", 3, True)
    assert service.rules() == []


def test_approving_later_makes_a_pair_wait(workbench):
    _, made = trained_model_with_feedback(workbench, approved=0, unapproved=1)
    assert RetrainService(workbench).waiting() == []
    approve_pairs(workbench, [made[0][1]])
    assert RetrainService(workbench).waiting_for(MODEL).pair_ids == (made[0][1],)


def test_a_retrain_that_cannot_start_its_training_run_fails_saying_why_and_frees_its_pairs(workbench, runner):
    trained_model_with_feedback(workbench, approved=2)
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('model_training_lineage')} SET training_config = "
        "replace(training_config, '\"base_model\": \"SmolLM2-135M-Instruct\"', '\"base_model\": \"llama-70b\"')"
    )
    service = RetrainService(workbench)
    started = service.start(MODEL)
    job = runner.wait(started.job_id, 60)
    assert job.error and "llama-70b cannot be fine-tuned by this app" in job.error
    failed = service.get(started.id)
    assert failed.status is RetrainStatus.FAILED and failed.lineage_id is None and "llama-70b" in (failed.error or "")
    assert service.waiting_for(MODEL).pairs == 2
