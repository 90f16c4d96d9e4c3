"""The local-endpoint form's optional low-confidence threshold: empty by default (off), a number
between 0 and 1 when set, handed back with the rest of the choice."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.deploy_builders import trained_model
from tests.pages.conftest import PAGE_TIMEOUT_S


def _form(model) -> None:
    import streamlit as st

    from components.deploy import deploy_form

    choice = deploy_form.show(model, key="form")
    if choice is not None:
        st.caption(f"threshold: {choice.low_confidence_threshold}")


def test_the_threshold_is_off_unless_set_and_comes_back_with_the_choice(app_env, workbench):
    model = trained_model(workbench)
    app = AppTest.from_function(_form, args=(model,), default_timeout=PAGE_TIMEOUT_S).run()
    assert app.number_input(key="form_low_confidence").value is None
    app.button[0].click().run()
    assert [c.value for c in app.caption] == ["threshold: None"]
    app.number_input(key="form_low_confidence").set_value(0.6)
    app.button[0].click().run()
    assert [c.value for c in app.caption] == ["threshold: 0.6"]
