"""The TRAIN components alone, each in a tiny app against the test's own store.

A finished run and the lineage views read runs recorded through the training store; starting and
cancelling goes through a real training job (cancelled before it gets far, so the test stays short).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from services.core.jobs import JobRunner
from services.train.records import RunStatus
from services.train.training import TrainingService
from tests.job_works import eventually, stop_all_jobs
from tests.mlflow_store import empty_mlflow_db, fresh_mlflow_store  # noqa: F401 - fixtures: an empty MLflow store per test
from tests.pages.conftest import PAGE_TIMEOUT_S
from tests.train_model_builders import labeled_training_sheet, recorded_run, training_input

JOB_WAIT_S = 240


def _run_page(workbench, run_id):
    from components.train import training_panel

    run = training_panel.show_run(workbench, run_id, key="run")
    import streamlit as st

    st.caption(f"shown: {run.status if run else 'nothing'}")


def _training_page(workbench, given):
    from components.train import training_panel

    training_panel.show(workbench, given, key="train")


def _lineage_page(workbench):
    from components.train import lineage_panel

    lineage_panel.show(workbench, key="lineage")


@pytest.fixture
def labeled(workbench):
    return labeled_training_sheet(workbench)


def test_a_registered_run_shows_its_model_its_evaluation_beside_the_base_and_a_link_to_mlflow(workbench, labeled):
    run = recorded_run(workbench, (labeled.training_sheet.id,), labeled.pair_ids[:4], labeled.pair_ids[4:6],
                       model_name="urgency", accuracy=0.75, base_accuracy=0.25)
    app = AppTest.from_function(_run_page, args=(workbench, run.id), default_timeout=PAGE_TIMEOUT_S).run()
    assert not app.exception

    assert [s.value for s in app.success] == [
        "Registered **urgency** version 1 as `candidate`.",
        "Better than its base model on 4 held-out pairs (accuracy 25% → 75%, F1 0.40 → 0.86).",
    ]
    assert app.caption[0].value == "2 steps · 160 tokens in 3 s (53 tokens/s) · final loss 1.200"
    (link,) = app.get("link_button")
    assert link.proto.url == "http://127.0.0.1:5000/#/experiments/1/runs/mlflow-run-1"
    (metrics, _answers) = app.dataframe
    table = metrics.value
    assert list(table.columns) == ["Metric", "Base model", "Fine-tuned"]
    accuracy = table[table["Metric"] == "Accuracy (all fields right)"].iloc[0]
    assert (accuracy["Base model"], accuracy["Fine-tuned"]) == (0.25, 0.75)
    assert app.get("plotly_chart"), "the loss curve"
    assert [b.label for b in app.button] == []
    assert [c.value for c in app.caption][-1] == "shown: succeeded"


def test_a_run_that_is_not_better_than_its_base_says_so(workbench, labeled):
    run = recorded_run(workbench, (labeled.training_sheet.id,), labeled.pair_ids[:4], (), model_name="urgency", accuracy=0.5, base_accuracy=0.5)
    app = AppTest.from_function(_run_page, args=(workbench, run.id), default_timeout=PAGE_TIMEOUT_S).run()
    assert not app.exception
    assert [w.value for w in app.warning] == ["Not better than its base model on 4 held-out pairs (accuracy 50% → 50%, F1 0.67 → 0.67)."]


@pytest.mark.slow
def test_starting_shows_the_run_live_and_cancel_stops_it_with_nothing_registered(workbench, labeled):
    runner = JobRunner(workbench)
    try:
        app = AppTest.from_function(_training_page, args=(workbench, training_input(workbench, labeled)), default_timeout=PAGE_TIMEOUT_S).run()
        assert not app.exception
        assert "**Base model:** SmolLM2-135M-Instruct" in app.markdown[0].value
        app.number_input(key="train_epochs").set_value(20)  # 20 steps: far from done when Cancel comes
        app.number_input(key="train_evaluation_pairs").set_value(1).run()
        assert any(m.value.endswith("evaluated on up to 1 held-out pairs that pass the evaluation gate") for m in app.markdown)
        app.button(key="train_start").click().run()
        assert not app.exception
        assert [b.label for b in app.button if b.key == "train_run_cancel"] == ["Cancel"]
        assert TrainingService(workbench).recent()[0].config["evaluation"]["max_pairs"] == 1

        app.button(key="train_run_cancel").click().run()
        (run,) = TrainingService(workbench).recent()
        eventually(lambda: TrainingService(workbench).get(run.id), lambda r: r.is_finished, timeout_s=JOB_WAIT_S)
        app = app.run()
        assert not app.exception
        assert TrainingService(workbench).get(run.id).status is RunStatus.CANCELLED
        (warning,) = app.warning
        assert warning.value.endswith("Nothing was registered.")
        assert [b.label for b in app.button if b.key == "train_run_resume"] == ["Resume (trains again from the start)"]
    finally:
        stop_all_jobs(runner)


def test_the_lineage_panel_leads_from_a_model_to_its_pairs_labels_and_source_items(workbench, labeled):
    recorded_run(workbench, (labeled.training_sheet.id,), labeled.pair_ids[:4], labeled.pair_ids[4:6], model_name="urgency", accuracy=1.0, base_accuracy=0.5)
    app = AppTest.from_function(_lineage_page, args=(workbench,), default_timeout=PAGE_TIMEOUT_S).run()
    assert not app.exception
    assert app.selectbox(key="lineage_model").value.model_id == "urgency/1"
    assert any(m.value.startswith(f"**Trained on** {labeled.training_sheet.name} (10 labeled pairs") for m in app.markdown)
    compared, pairs = app.dataframe
    assert list(compared.value["Model"]) == ["urgency v1"]
    assert list(pairs.value["Split"]) == ["train"] * 4 + ["validation"] * 2
    assert list(pairs.value["Canonical label"])[:2] == ['{"urgency": "routine"}'] * 2

    (trace,) = [s for s in app.selectbox if s.key and s.key.startswith("lineage_pair_")]
    trace.select_index(5).run()
    assert not app.exception
    assert any(m.value.startswith("**INV-0005** · validation split") for m in app.markdown)
    assert any(m.value.startswith("**Canonical label** v1 by tester@example.com") for m in app.markdown)
    fields = app.dataframe[-1].value
    assert dict(zip(fields["Field"], fields["Value"], strict=True))["invoice_id"] == "INV-0005"


def test_the_lineage_panel_says_when_no_model_was_trained(workbench):
    app = AppTest.from_function(_lineage_page, args=(workbench,), default_timeout=PAGE_TIMEOUT_S).run()
    assert not app.exception
    assert [i.value for i in app.info] == ["No model has been trained yet: its lineage appears here once a run registers one."]
