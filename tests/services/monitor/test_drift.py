"""Drift on constructed logs with known answers: PSI of predicted values and of a numeric input
field against the training set, and the prompts' mean embedding distance."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from data_access.embeddings.lexical import LexicalEmbedder
from services.monitor.drift import TEXT_SHIFT_MOVED, DriftService, prediction_drift
from services.monitor.log_scope import LogScope, Window
from services.monitor.predictions import FieldDistribution, PredictionService
from services.monitor.psi import PSI_MOVED, psi
from services.monitor.watched_model import watched_model
from tests.monitor_builders import ENDPOINT, NOW, logged_request, monitored_model, write_log

HOUR = LogScope(ENDPOINT, None, Window.HOUR, NOW)


def test_psi_of_two_known_distributions():
    assert psi([50, 50], [50, 50]) == 0.0
    assert psi([50, 50], [80, 20]) == pytest.approx(0.3 * math.log(0.8 / 0.5) + 0.3 * math.log(0.5 / 0.2))
    # A bin empty on one side counts with a share of 1e-4 rather than an infinite logarithm.
    assert psi([100, 0], [90, 10]) == pytest.approx(-0.1 * math.log(0.9) + (0.1 - 1e-4) * math.log(0.1 / 1e-4))


def test_a_prediction_finding_names_what_moved_and_is_left_out_below_five_values():
    moved, = prediction_drift([FieldDistribution("urgency", False, ("routine", "urgent"), (75, 25), (20, 80))])
    assert moved.moved and moved.threshold == PSI_MOVED
    assert moved.sentence.startswith("Predicted urgency moved (PSI 1.37, threshold 0.25): ")
    assert "urgent 80% of live against 25% in training" in moved.sentence
    assert prediction_drift([FieldDistribution("urgency", False, ("routine", "urgent"), (75, 25), (3, 1))]) == []


@pytest.fixture
def model(workbench):
    """Trained on INV-0000..0007 (total_amount 0 … 70; urgency routine below 60: 6 routine, 2 urgent)."""
    monitored_model(workbench, at=NOW - timedelta(minutes=30))
    return watched_model(workbench, HOUR)


def test_predicted_values_drift_by_psi_against_the_training_answers(workbench, model):
    write_log(workbench, [logged_request(i, prediction='{"urgency": "urgent"}') for i in range(1, 8)]
              + [logged_request(i, prediction='{"urgency": "routine"}') for i in range(8, 10)])
    finding, = prediction_drift(PredictionService(workbench).distributions(HOUR, model))
    # Training 6 routine / 2 urgent; live (with the fixture's request) 3 routine / 7 urgent.
    expected = (0.3 - 0.75) * math.log(0.3 / 0.75) + (0.7 - 0.25) * math.log(0.7 / 0.25)
    assert finding.value == pytest.approx(expected) and finding.moved
    assert (finding.live_count, finding.training_count) == (10, 8)


def test_a_numeric_input_field_is_stable_on_the_training_items_and_moves_on_larger_amounts(workbench, model):
    def request(i: int, ref: str):
        return logged_request(i, sheet_id=model.sheet_id, item_ref=ref)

    write_log(workbench, [request(1 + i, f"INV-{i:04d}") for i in range(8)])
    same, = DriftService(workbench).numeric_inputs(HOUR, model)  # INV-0000 … 0007: the training items themselves
    assert same.measure == "Input total_amount" and same.value == pytest.approx(0.0) and not same.moved
    write_log(workbench, [request(100 + i, f"INV-{100 + i:04d}") for i in range(16)])  # 1,000 and up, above every training value
    shifted, = DriftService(workbench).numeric_inputs(HOUR, model)
    assert shifted.moved and "moved" in shifted.sentence and shifted.live_count == 24 and shifted.training_count == 8


def test_the_prompt_text_shift_is_the_distance_between_mean_embeddings(workbench, model):
    service = DriftService(workbench, LexicalEmbedder())
    assert service.text_inputs(HOUR, model) is None  # one live prompt says nothing yet
    training_prompts = [f"Invoice INV-{i:04d} from {'City Medical Center' if i % 2 == 0 else 'Lakeside Clinic'} for {i * 10}.00." for i in range(8)]
    write_log(workbench, [logged_request(10 + i, prompt=p) for i, p in enumerate(training_prompts * 2)])
    assert service.text_inputs(LogScope(ENDPOINT, None, Window.HOUR, NOW), model).value < 0.02  # the fixture's one other prompt
    write_log(workbench, [logged_request(100 + i, prompt=f"Detector telemetry: HV supply {i} V, cooling fault {i}") for i in range(200)])
    moved = service.text_inputs(HOUR, model)
    assert moved.value >= TEXT_SHIFT_MOVED and moved.moved and "Detector telemetry" in moved.sentence
    assert "by shared words" in moved.sentence and moved.live_count == 100
