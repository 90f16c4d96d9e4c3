"""The PII guardrail's flag on an answer the Playground got: what personal data, where, masked."""

from __future__ import annotations

import streamlit as st

from services.deploy.guardrails import described
from services.deploy.records import ChatReply


def show(reply: ChatReply) -> None:
    check = reply.pii_result
    if check is None or check.passed:
        return
    st.warning(f"Personal data in this answer (flagged in the inference log): {described(check.findings)}.",
               icon=":material/privacy_tip:")
