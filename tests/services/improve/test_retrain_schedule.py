"""Retrain rules checked on the app's schedule, as alert rules are."""

from __future__ import annotations

from data_access.sql.duckdb_engine import release_home
from services.core.jobs import JobRunner
from services.core.workbench import forget_prepared_stores
from services.improve.retrain import RetrainService
from services.improve.retrain_schedule import RetrainSchedule, start_server_retrain_schedule, stop_retrain_schedules
from tests.job_works import eventually
from tests.retrain_builders import MODEL, stop_jobs, trained_model_with_feedback


def test_the_schedule_starts_the_retrain_a_rule_asks_for_once(workbench):
    trained_model_with_feedback(workbench, approved=2)
    service = RetrainService(workbench)
    service.save_rule(MODEL, 2, True)
    schedule = RetrainSchedule(workbench, every_s=0.05)
    try:
        eventually(service.recent, lambda started: len(started) == 1)
        eventually(service.rules, lambda rules: rules[0].last_waiting_pairs == 0)  # checked again: the pairs are held
    finally:
        schedule.stop()
        stop_jobs(JobRunner(workbench))
    [retrain] = service.recent()
    assert retrain.started_by_rule and service.rules()[0].last_retrain_id == retrain.id


def test_the_server_starts_one_retrain_schedule_on_its_store(settings, monkeypatch):
    """services/core/store_threads.py decides when (tested with the alert schedule); this is the wiring."""
    for name, value in {"WORKBENCH_HOME": str(settings.home), "WORKBENCH_DEMO_DATA": "0"}.items():
        monkeypatch.setenv(name, value)
    for name in ("WORKBENCH_BACKEND", "DATABRICKS_WAREHOUSE_ID"):
        monkeypatch.delenv(name, raising=False)
    try:
        started = start_server_retrain_schedule()
        assert isinstance(started, RetrainSchedule) and start_server_retrain_schedule() is started
    finally:
        stop_retrain_schedules()
        forget_prepared_stores()
        release_home(settings.home)
