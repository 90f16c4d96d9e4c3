"""Where to serve the chosen version and with which guardrails; returns the choice when submitted."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from services.deploy.endpoints import DEFAULT_MAX_TOKENS, endpoint_name_for
from services.deploy.guardrails import MAX_TOKENS_CEILING
from services.deploy.records import DeployableModel, PiiAction


@dataclass(frozen=True)
class DeployChoice:
    endpoint_name: str
    max_tokens: int
    schema_guardrail: bool
    pii_action: PiiAction
    low_confidence_threshold: float | None = None  # below it an answer enters IMPROVE's queue by itself


_PII_CHOICES = {PiiAction.FLAG: "Flag it (return the answer)", PiiAction.BLOCK: "Block the answer"}


def show(model: DeployableModel, key: str) -> DeployChoice | None:
    with st.form(key):
        name = st.text_input("Endpoint name", value=endpoint_name_for(model), key=f"{key}_name",
                             help="Served at /api/v1/serving-endpoints/<name>/invocations. Deploying to a name in use replaces what it served.")
        tokens = st.number_input("Max tokens per answer", 1, MAX_TOKENS_CEILING, DEFAULT_MAX_TOKENS, key=f"{key}_tokens",
                                 help="A request asking for more is refused before the model sees it, and logged.")
        schema = st.toggle("Check answers against the template's output schema", value=model.template_id is not None,
                           disabled=model.template_id is None, key=f"{key}_schema",
                           help="An answer that does not parse is still returned, flagged, and the failure is logged with the request.")
        pii = st.radio("Personal data in an answer", list(_PII_CHOICES), format_func=_PII_CHOICES.__getitem__, horizontal=True,
                       key=f"{key}_pii", help="E-mail addresses, phone numbers, SSNs, card numbers and IBANs (check digits verified), "
                       "IPv4 addresses and labeled dates of birth. Either way the finding is logged with the request, masked.")
        threshold = st.number_input("Low-confidence threshold (optional)", 0.0, 1.0, None, 0.05, key=f"{key}_low_confidence",
                                    help="An answer whose confidence is below this enters IMPROVE's feedback queue by itself, "
                                    "marked low confidence (for models that report a confidence). Empty: off.")
        submitted = st.form_submit_button("Deploy locally", type="primary", icon=":material/rocket_launch:")
    return DeployChoice(name.strip(), int(tokens), bool(schema), PiiAction(pii), threshold) if submitted else None
