"""The form an example is written or edited in; returns the draft when submitted."""

from __future__ import annotations

import streamlit as st

from services.example_store.records import ExampleDraft


def show(key: str, initial: ExampleDraft | None = None, submit_label: str = "Add example") -> ExampleDraft | None:
    start = initial or ExampleDraft("", "")
    with st.form(key, border=False):
        text_in = st.text_area("Input", start.input, key=f"{key}_input", placeholder="The query or model input this example demonstrates")
        text_out = st.text_area("Expected output", start.expected_output, key=f"{key}_output",
                                placeholder="The answer, or the function call with its arguments (JSON)")
        explanation = st.text_input("Explanation", start.explanation, key=f"{key}_explanation", placeholder="Why this is right (optional)")
        keys = st.text_input("Search keys", ", ".join(start.search_keys), key=f"{key}_keys", help="Words this example should be found by, separated by commas")
        function, domain, quality = st.columns(3)
        function_name = function.text_input("Function name", start.function_name or "", key=f"{key}_function")
        domain_name = domain.text_input("Domain", start.domain or "", key=f"{key}_domain")
        rated = quality.number_input("Quality (0–1)", 0.0, 1.0, start.quality_score, 0.05, key=f"{key}_quality")
        if not st.form_submit_button(submit_label, key=f"{key}_submit", type="primary"):
            return None
    return ExampleDraft(text_in, text_out, explanation, tuple(k.strip() for k in keys.split(",")), function_name, domain_name, rated)
