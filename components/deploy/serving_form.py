"""Deploy to Model Serving (Databricks): endpoint name, workload size, scale to zero, an optional
second version with its share of traffic for an A/B test, and a rate limit. Returns the request
when submitted; the endpoints table shows what each Model Serving endpoint serves."""

from __future__ import annotations

import streamlit as st

from services.deploy.endpoints import endpoint_name_for
from services.deploy.model_serving import WORKLOAD_SIZES, ServingEndpointRecord, ServingRequest
from services.deploy.records import DeployableModel

NO_CHALLENGER = "No A/B split"
DEFAULT_CHALLENGER_PERCENT = 10  # a cautious first share for the new version


def show(model: DeployableModel, others: list[DeployableModel], key: str) -> ServingRequest | None:
    by_id = {m.model_id: m for m in others if m.model_id != model.model_id}
    with st.form(key):
        name = st.text_input("Endpoint name", value=endpoint_name_for(model), key=f"{key}_name",
                             help="Deploying to an existing endpoint updates it in place; it keeps serving until the update is ready.")
        size, zero = st.columns(2)
        workload = size.selectbox("Workload size", WORKLOAD_SIZES, key=f"{key}_size", help="Small, Medium, Large: 4, 16 or 64 concurrent requests.")
        scale_to_zero = zero.toggle("Scale to zero when idle", value=True, key=f"{key}_zero")
        split, share = st.columns(2)
        challenger = split.selectbox("A/B: second version", [NO_CHALLENGER, *by_id], key=f"{key}_challenger",
                                     format_func=lambda i: i if i == NO_CHALLENGER else f"{by_id[i].model_name} v{by_id[i].model_version}")
        percent = share.slider("Its share of requests (%)", 1, 99, DEFAULT_CHALLENGER_PERCENT, key=f"{key}_percent",
                               help="Only used with a second version; the chosen version gets the rest.")
        limit, per_user = st.columns(2)
        calls = limit.number_input("Rate limit (calls a minute, 0: none)", 0, None, 0, key=f"{key}_calls")
        each = per_user.toggle("Count it per user", key=f"{key}_per_user")
        submitted = st.form_submit_button("Deploy to Model Serving", type="primary", icon=":material/cloud_upload:")
    if not submitted:
        return None
    second = by_id.get(challenger)
    return ServingRequest(
        endpoint_name=name.strip(), model=model, workload_size=workload, scale_to_zero=bool(scale_to_zero), challenger=second,
        challenger_percent=int(percent) if second else 0, calls_per_minute=int(calls) or None, per_user=bool(each),
    )


def show_endpoints(endpoints: list[ServingEndpointRecord], key: str) -> None:
    if not endpoints:
        st.info("No Model Serving endpoint yet: deploy the version above.")
        return
    st.dataframe(
        [{
            "Endpoint": e.deployment.endpoint_name, "Status": e.deployment.status.value,
            "Serves": " · ".join(f"{v.model_name} v{v.model_version} {v.traffic_percent}%" for v in e.versions),
            "Workload": e.workload_size or "—", "Inference table": e.inference_table or "—",
            "Deployed by": e.deployment.created_by,
            "Deployed": e.deployment.created_at.strftime("%Y-%m-%d %H:%M UTC") if e.deployment.created_at else "—",
            "Why it failed": e.deployment.error or "",
        } for e in endpoints],
        hide_index=True, key=key,
    )
