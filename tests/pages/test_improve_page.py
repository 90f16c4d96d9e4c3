"""The IMPROVE page through AppTest: the queue ranked by impact with its severity rule, filters, a
pattern opened with its request, answer, correction and source item, and routed to curation. The
AG Grid itself does not render under AppTest: a selection is set as the grid would set it."""

from __future__ import annotations

import json

from services.improve.capture import FeedbackCapture, FeedbackInput
from services.improve.curation import FeedbackCuration
from services.improve.feedback_store import FeedbackStore
from services.improve.queue import FeedbackQueue
from services.improve.records import FeedbackOrigin, FeedbackStatus
from tests.improve_builders import deployed_model, model_sheet_id
from tests.monitor_builders import logged_request, write_log

PICKED = "improve_queue_picked"


def _feedback(wb) -> dict[str, str]:
    model = deployed_model(wb)
    sheet_id = model_sheet_id(wb, model)
    write_log(wb, [logged_request(1, sheet_id=sheet_id, item_ref="INV-0001"), logged_request(2, prompt="A free prompt about dosimeters.")])
    capture = FeedbackCapture(wb)
    wrong = capture.submit("log-1-1", FeedbackInput("down", correction='{"urgency": "urgent"}', comment="Overdue."), FeedbackOrigin.API)
    right = capture.submit("log-1-2", FeedbackInput("up"), FeedbackOrigin.PLAYGROUND)
    return {"wrong": wrong.id, "right": right.id}


def _queue(app):
    """The Queue tab: the Gaps and Retrain tabs beside it say their own things."""
    return app.tabs[0]


def _button(app, label: str):
    return next(b for b in app.button if b.label == label)


def test_with_no_feedback_the_page_says_what_fills_the_queue(open_page):
    app = open_page("pages/improve.py")
    assert not app.exception
    assert "Nothing in the queue" in _queue(app).info[0].value and "low-confidence threshold" in _queue(app).info[0].value
    assert "**:blue-background[IMPROVE]**" in [m.value for m in app.markdown]


def test_the_queue_says_how_it_ranks_and_filters_by_value(open_page, workbench):
    _feedback(workbench)
    app = open_page("pages/improve.py")
    assert not app.exception
    assert any("severity × how often similar requests occur" in c.value for c in app.caption)
    app.selectbox(key="improve_filters_value").set_value("up").run()
    assert not app.exception and not _queue(app).info
    app.selectbox(key="improve_filters_endpoint").set_value("urgency")
    app.selectbox(key="improve_filters_status").set_value(FeedbackStatus.FLAGGED).run()
    assert "Nothing in the queue" in _queue(app).info[0].value


def test_an_opened_item_shows_its_request_answer_correction_and_source_and_goes_to_a_new_training_sheet(open_page, workbench):
    ids = _feedback(workbench)
    app = open_page("pages/improve.py")
    app.session_state[PICKED] = [ids["wrong"]]
    app.run()
    assert not app.exception
    codes = [c.value for c in app.code]
    assert codes[:3] == ["Invoice INV-0042 for 420.00.", '{"urgency": "routine"}', '{"urgency": "urgent"}']
    assert any("Source: item INV-0001" in c.value for c in app.caption)
    assert "**Trace to training data**" in [m.value for m in app.markdown]  # to the pairs its version learned from
    assert {"Queue", "Gaps", "Retrain"} <= {t.label for t in app.tabs}

    assert app.radio(key="improve_actions_into").value == "An existing Training Sheet"  # the model's own is offered
    app.radio(key="improve_actions_into").set_value("A new Training Sheet").run()
    app.text_input(key="improve_actions_new_name").set_value("Urgency from production")
    _button(app, "Add to Training Sheet").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert "1 pair(s) added to Urgency from production" in app.success[0].value
    moved = FeedbackStore(workbench).get(ids["wrong"])
    assert moved.status is FeedbackStatus.ADDED_TO_TRAINING_SHEET
    pair = workbench.backend.engine.query_one(
        f"SELECT status, messages FROM {workbench.table('qa_pairs')} WHERE id = :id", {"id": moved.qa_pair_id})
    assert pair["status"] == "unlabeled" and json.loads(json.loads(pair["messages"])[-1]["content"]) == {"urgency": "urgent"}


def test_a_free_prompt_cannot_become_a_pair_but_can_be_flagged_with_a_note(open_page, workbench):
    ids = _feedback(workbench)
    app = open_page("pages/improve.py")
    app.session_state[PICKED] = [ids["right"]]
    app.run()
    assert any("free prompt" in c.value for c in app.caption)
    assert "Only answers to a sheet item can become pairs" in app.error[0].value  # said in the Add tab, before any click
    app.text_input(key="improve_actions_note").set_value("A test request?")
    _button(app, "Flag for senior expert").click().run()
    assert not app.exception and "flagged for a senior expert" in app.success[0].value
    assert FeedbackStore(workbench).get(ids["right"]).flag_note == "A test request?"


def test_a_pair_added_from_feedback_opens_in_label_with_its_badge_and_the_feedback_filter(open_page, workbench):
    ids = _feedback(workbench)
    items = {i.id: i for i in FeedbackQueue(workbench).items()}
    added = FeedbackCuration(workbench).add_to_training_sheet([items[ids["wrong"]]], new_name="From production")
    pair_id = FeedbackStore(workbench).get(ids["wrong"]).qa_pair_id
    app = open_page("pages/label.py", {"training_sheet": added.training_sheet.id, "pair": pair_id})
    assert not app.exception
    assert any("From production feedback" in m.value for m in app.markdown)
    app.toggle(key="label_filters_from_feedback").set_value(True).run()
    assert not app.exception
    queue = next(d.value for d in app.dataframe if "Mode" in d.value)
    assert list(queue["Item"]) == ["INV-0001"] and list(queue["Mode"]) == ["manual · from feedback"]


def test_a_pattern_mixing_a_sheet_item_and_a_free_prompt_adds_the_item_and_leaves_the_prompt(open_page, workbench):
    ids = _feedback(workbench)
    app = open_page("pages/improve.py")
    app.session_state[PICKED] = [ids["wrong"], ids["right"]]
    app.run()
    assert any("1 of them were free prompts" in c.value for c in app.caption)
    app.radio(key="improve_actions_into").set_value("A new Training Sheet").run()
    app.text_input(key="improve_actions_new_name").set_value("Sheet items only")
    _button(app, "Add to Training Sheet").click().run()
    assert not app.exception and "1 pair(s) added to Sheet items only" in app.success[0].value
    assert FeedbackStore(workbench).get(ids["wrong"]).status is FeedbackStatus.ADDED_TO_TRAINING_SHEET
    assert FeedbackStore(workbench).get(ids["right"]).status is FeedbackStatus.OPEN


def test_the_queues_filters_are_kept_while_another_tab_is_looked_at(open_page, workbench):
    _feedback(workbench)
    app = open_page("pages/improve.py")
    app.selectbox(key="improve_filters_value").set_value("up").run()
    for tab in ("Gaps", "Retrain", "Queue"):
        app.session_state["improve_tab"] = tab  # what clicking the tab sets
        app.run()
        assert not app.exception
    assert app.selectbox(key="improve_filters_value").value == "up"
