"""Feedback on a logged answer from MONITOR's Sample predictions and under a Playground answer: a
correction that fits the output schema is stored linked to its answer; one that does not is
refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamlit.testing.v1 import AppTest

from services.improve.feedback_store import FeedbackStore
from services.improve.records import FeedbackKind, FeedbackOrigin
from tests.improve_builders import deployed_model
from tests.monitor_builders import logged_request, write_log
from tests.pages.conftest import PAGE_TIMEOUT_S

KEY = "monitor_feedback_log-1-1"


def _opened_on_monitor(open_page, workbench):
    deployed_model(workbench)
    write_log(workbench, [logged_request(1, at=datetime.now(UTC) - timedelta(minutes=2))])
    app = open_page("pages/monitor.py", {"endpoint": "urgency"})
    app.session_state["monitor_samples_urgency_opened"] = "log-1-1"
    return app.run()


def _send(app):
    return next(b for b in app.button if b.label == "Send feedback").click().run()


def test_a_correction_sent_from_monitor_is_stored_linked_to_the_logged_answer(open_page, workbench):
    app = _opened_on_monitor(open_page, workbench)
    assert not app.exception
    app.radio(key=f"{KEY}_value").set_value("down")
    app.text_area(key=f"{KEY}_correction").set_value('{"urgency": "urgent"}')
    _send(app)
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert "is in IMPROVE's queue" in app.success[0].value
    [saved] = FeedbackStore(workbench).for_prediction("log-1-1")
    assert (saved.kind, saved.origin, saved.value, saved.model_id) == (
        FeedbackKind.CORRECTION, FeedbackOrigin.MONITOR, "down", "invoices_urgency_lora/1")
    assert saved.created_by == "tester@example.com"


def test_a_correction_outside_the_output_schema_is_refused_on_the_page_and_nothing_is_stored(open_page, workbench):
    app = _opened_on_monitor(open_page, workbench)
    app.radio(key=f"{KEY}_value").set_value("down")
    app.text_area(key=f"{KEY}_correction").set_value('{"urgency": "someday"}')
    _send(app)
    assert "allowed: routine, urgent" in app.error[0].value
    assert FeedbackStore(workbench).for_prediction("log-1-1") == []


def _playground_reply(request_id: str, trace_id: str) -> None:
    from datetime import UTC, datetime

    from components.deploy import playground
    from services.deploy.records import ChatReply, ChatRequest, ChatTurn

    reply = ChatReply('{"urgency": "routine"}', "urgency", "invoices_urgency_lora", "1", 12, 4, 30.0, 8, (), request_id, trace_id,
                      datetime.now(UTC))
    playground.show_reply(ChatRequest((ChatTurn("user", "Invoice INV-0042 for 420.00."),)), reply, "logged to the inference log")


def test_a_thumbs_down_under_a_playground_answer_finds_its_logged_request(app_env, workbench):
    deployed_model(workbench)
    write_log(workbench, [logged_request(1)])
    app = AppTest.from_function(_playground_reply, args=("r1", "trace-1"), default_timeout=PAGE_TIMEOUT_S).run()
    key = "playground_feedback_r1"
    app.radio(key=f"{key}_value").set_value("down")
    app.text_input(key=f"{key}_comment").set_value("Should be urgent.")
    _send(app)
    assert not app.exception and not app.error, [e.value for e in app.error]
    [saved] = FeedbackStore(workbench).for_prediction("log-1-1")
    assert (saved.kind, saved.origin, saved.value, saved.comment) == (FeedbackKind.RATING, FeedbackOrigin.PLAYGROUND, "down", "Should be urgent.")


def test_a_model_serving_answer_has_no_feedback_form(app_env):
    app = AppTest.from_function(_playground_reply, args=("r9", ""), default_timeout=PAGE_TIMEOUT_S).run()
    assert not app.exception and not any(b.label == "Send feedback" for b in app.button)
