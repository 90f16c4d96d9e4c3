"""The PII guardrail on the DEPLOY page, each piece run through AppTest on its own: the deploy
form's flag-or-block setting, and the flag a Playground answer with personal data shows. The
endpoint behind them is tested in tests/services/deploy/test_local_endpoints.py."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

from services.deploy.guardrails import pii_check
from services.deploy.records import ChatReply, PiiAction
from tests.deploy_builders import trained_model


def _form(model):
    import streamlit as st

    from components.deploy import deploy_form

    choice = deploy_form.show(model, key="deploy_form")
    if choice is not None:
        st.session_state["choice"] = choice


def _flag(reply):
    from components.deploy import pii_flag

    pii_flag.show(reply)


def _reply(text: str) -> ChatReply:
    return ChatReply(text, "urgency", "invoices_urgency_lora", "1", 10, 12, 40.0, 64, (pii_check(text),), "req-1", "trace-1",
                     datetime.now(UTC))


def deploy(app: AppTest) -> None:
    next(b for b in app.button if b.label == "Deploy locally").click().run()


def test_the_deploy_form_flags_personal_data_by_default_and_can_block_it(workbench):
    model = trained_model(workbench)
    app = AppTest.from_function(_form, args=(model,), default_timeout=30).run()
    assert not app.exception and app.radio(key="deploy_form_pii").value is PiiAction.FLAG
    deploy(app)
    assert app.session_state["choice"].pii_action is PiiAction.FLAG

    app.radio(key="deploy_form_pii").set_value(PiiAction.BLOCK)
    deploy(app)
    assert app.session_state["choice"].pii_action is PiiAction.BLOCK


def test_a_playground_answer_with_personal_data_shows_the_flag_masked():
    app = AppTest.from_function(_flag, args=(_reply("Reach her at jane@example.com."),), default_timeout=30).run()
    assert not app.exception
    (warning,) = app.warning
    assert "email at 13-29 (****@*******.*om)" in warning.value and "jane@" not in warning.value

    clean = AppTest.from_function(_flag, args=(_reply('{"urgency": "urgent"}'),), default_timeout=30).run()
    assert not clean.exception and not clean.warning
