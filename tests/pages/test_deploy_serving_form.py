"""The Model Serving form of the DEPLOY page (shown on the Databricks backend), run through AppTest
on its own: what a person fills in becomes the request the deploy job gets. The job itself is
tested against the loopback workspace (tests/services/deploy/test_model_serving.py)."""

from __future__ import annotations

from dataclasses import replace

from streamlit.testing.v1 import AppTest

from tests.deploy_builders import trained_model


def _form(model, others):
    import streamlit as st

    from components.deploy import serving_form

    request = serving_form.show(model, others, key="serving")
    if request is not None:
        st.session_state["request"] = request


def test_the_form_asks_for_an_ab_split_and_a_rate_limit_and_returns_them(workbench):
    first = trained_model(workbench)
    second = replace(first, model_version="2", model_id=f"{first.model_name}/2")
    app = AppTest.from_function(_form, args=(second, [first, second]), default_timeout=30).run()
    assert not app.exception
    assert app.text_input(key="serving_name").value == "invoices_urgency_lora-v2"
    assert app.selectbox(key="serving_challenger").options == ["No A/B split", "invoices_urgency_lora v1"]

    app.selectbox(key="serving_size").set_value("Medium")
    app.toggle(key="serving_zero").set_value(False)
    app.selectbox(key="serving_challenger").set_value(first.model_id)
    app.slider(key="serving_percent").set_value(25)
    app.number_input(key="serving_calls").set_value(120)
    app.toggle(key="serving_per_user").set_value(True)
    next(b for b in app.button if b.label == "Deploy to Model Serving").click().run()

    request = app.session_state["request"]
    assert (request.endpoint_name, request.model.model_id, request.workload_size, request.scale_to_zero) == (
        "invoices_urgency_lora-v2", second.model_id, "Medium", False)
    assert (request.challenger.model_id, request.challenger_percent, request.calls_per_minute, request.per_user) == (
        first.model_id, 25, 120, True)


def test_without_a_second_version_the_share_is_ignored_and_no_limit_is_sent(workbench):
    model = trained_model(workbench)
    app = AppTest.from_function(_form, args=(model, [model]), default_timeout=30).run()
    app.slider(key="serving_percent").set_value(40)
    next(b for b in app.button if b.label == "Deploy to Model Serving").click().run()

    request = app.session_state["request"]
    assert request.challenger is None and request.challenger_percent == 0 and request.calls_per_minute is None
