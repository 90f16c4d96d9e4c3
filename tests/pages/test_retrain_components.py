"""IMPROVE's Retrain section and the version comparison on TRAIN and MONITOR, each through AppTest
on the test's own store (retrain jobs started here are stopped at once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from services.core.jobs import JobRunner
from services.improve.retrain import RetrainService
from services.improve.retrain_records import RetrainStatus
from tests.monitor_builders import logged_request, write_log
from tests.pages.conftest import PAGE_TIMEOUT_S
from tests.retrain_builders import MODEL, stop_jobs, trained_model_with_feedback
from tests.train_model_builders import recorded_run


def _retrain_section(workbench):
    from components.improve import retrain

    retrain.section(workbench)


def _lineage(workbench):
    from components.train import lineage_panel

    lineage_panel.show(workbench, key="lineage")


@pytest.fixture
def runner(workbench):
    runner = JobRunner(workbench)
    yield runner
    stop_jobs(runner)


def _open(function, workbench) -> AppTest:
    app = AppTest.from_function(function, args=(workbench,), default_timeout=PAGE_TIMEOUT_S).run()
    assert not app.exception
    return app


def test_the_section_lists_waiting_models_and_retrain_starts_one_shown_with_its_progress(workbench, runner):
    trained_model_with_feedback(workbench, approved=2, unapproved=1)
    app = _open(_retrain_section, workbench)
    assert f"**{MODEL}** v1: 2 approved feedback-derived pairs waiting (from 2 feedback items)" in [m.value for m in app.markdown]

    app.button(key=f"retrain_{MODEL}").click().run()
    assert not app.exception
    [retrain] = RetrainService(workbench).recent()
    assert retrain.started_by == "tester@example.com" and len(retrain.feedback_pair_ids) == 2
    assert any(s.value.startswith(f"Retrain of {MODEL} started") for s in app.success)
    assert f"**Retraining {MODEL}** on 2 new feedback-derived pairs" in [m.value for m in app.markdown]
    assert len(app.get("progress")) >= 1
    assert "No model has approved feedback-derived pairs waiting" in " ".join(i.value for i in app.info)  # held now


def test_the_rule_form_saves_a_rule_that_is_recorded_and_can_be_switched_off(workbench):
    trained_model_with_feedback(workbench, approved=1)
    app = _open(_retrain_section, workbench)
    app.number_input(key="retrain_rule_n").set_value(5)
    app.button(key="FormSubmitter:retrain_rule-Save rule").click().run()
    assert not app.exception
    assert any(s.value == f"Retrain rule of {MODEL} saved: N = 5, on." for s in app.success)
    [rule] = RetrainService(workbench).rules()
    assert (rule.min_pairs, rule.enabled) == (5, True)

    app.toggle(key="retrain_rule_on").set_value(False)
    app.button(key="FormSubmitter:retrain_rule-Save rule").click().run()
    [rule] = RetrainService(workbench).rules()
    assert rule.enabled is False and rule.updated_by == "tester@example.com"
    table = app.dataframe[0].value
    assert list(table["Model"]) == [MODEL] and list(table["On"]) == [False] and list(table["N"]) == [5]


def test_opening_the_section_checks_the_rules_and_a_rule_past_its_n_starts_a_retrain(workbench, runner):
    trained_model_with_feedback(workbench, approved=2)
    RetrainService(workbench).save_rule(MODEL, 2, True)
    app = _open(_retrain_section, workbench)
    [retrain] = RetrainService(workbench).recent()
    assert retrain.started_by_rule
    assert any("started a retrain" in t.value for t in app.toast)
    table = app.dataframe[-1].value
    assert list(table["By"]) == ["rule (as tester@example.com)"] and list(table["New pairs"]) == [2]


def _two_versions(workbench):
    labeled, made = trained_model_with_feedback(workbench, approved=2)
    second = recorded_run(workbench, (labeled.training_sheet.id,), (*labeled.pair_ids[:4], *(p for _, p in made)), (),
                          model_name=MODEL, accuracy=1.0, base_accuracy=0.25, version="2")
    return made, second


def test_trains_lineage_names_the_feedback_a_version_learned_from_and_compares_it_with_the_previous(workbench):
    made, _ = _two_versions(workbench)
    app = _open(_lineage, workbench)
    feedback = sorted(f for f, _ in made)
    assert f"**Learned from 2 feedback items:** `{feedback[0]}`, `{feedback[1]}`" in [m.value for m in app.markdown]
    assert app.expander[0].label == "v2 beside v1 on the same evaluation pairs"
    assert "On the same 4 held-out pairs: accuracy v1 50% → v2 100%, F1 0.67 → 1.00." in [m.value for m in app.markdown]


def test_monitors_ab_shows_both_versions_scored_on_the_same_evaluation_pairs(open_page, workbench):
    _two_versions(workbench)
    at = datetime.now(UTC) - timedelta(minutes=5)
    write_log(workbench, [logged_request(50, at=at, model_name=MODEL, version="1"), logged_request(51, at=at, model_name=MODEL, version="2")])
    app = open_page("pages/monitor.py", {"endpoint": "urgency"})
    assert not app.exception
    said = [m.value for m in app.markdown if m.value.startswith("On the same")]
    assert said == ["On the same 4 held-out pairs: accuracy v1 50% → v2 100%, F1 0.67 → 1.00."], said


def test_a_retrain_that_failed_before_training_can_be_retried_from_the_section(workbench, runner):
    trained_model_with_feedback(workbench, approved=2)
    first = RetrainService(workbench).start(MODEL)
    stop_jobs(runner)
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('retrains')} SET status = 'failed', error = 'disk full', lineage_id = NULL WHERE id = :id",
        {"id": first.id},
    )
    app = _open(_retrain_section, workbench)
    assert list(app.dataframe[-1].value["Status"]) == ["failed: disk full"]
    app.selectbox(key="retrain_resume_pick").select_index(0).run()
    app.button(key="retrain_resume").click().run()
    assert not app.exception
    retried = RetrainService(workbench).get(first.id)
    assert retried.status in (RetrainStatus.EXPORTING, RetrainStatus.TRAINING) and retried.error is None and [r.id for r in RetrainService(workbench).recent()] == [first.id]
