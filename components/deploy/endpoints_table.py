"""The local endpoints and what each serves."""

from __future__ import annotations

import streamlit as st

from services.deploy.records import Deployment


def show(endpoints: list[Deployment], key: str) -> None:
    if not endpoints:
        st.info("No local endpoint yet: deploy a model version above.")
        return
    st.dataframe(
        [{
            "Endpoint": d.endpoint_name,
            "Model": d.model_name,
            "Version": d.model_version,
            "Status": d.status.value,
            "Max tokens": d.max_tokens,
            "Schema guardrail": "on" if d.schema_guardrail else "off",
            "Personal data": d.pii_action.value,
            "Low-confidence threshold": "off" if d.low_confidence_threshold is None else f"{d.low_confidence_threshold:.2f}",
            "Deployed by": d.created_by,
            "Deployed": d.created_at.strftime("%Y-%m-%d %H:%M UTC") if d.created_at else "—",
            "Invocations URL": f"/api/v1/serving-endpoints/{d.endpoint_name}/invocations",
            "Why it failed": d.error or "",
        } for d in endpoints],
        hide_index=True, key=key,
    )
