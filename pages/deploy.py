"""DEPLOY: serve a registered model version at a local endpoint of this app, and try it."""

import streamlit as st

from components import breadcrumb
from components.deploy import deploy_form, endpoints_table, model_picker, playground
from components.feedback import flash, show_flash, shown_errors
from components.session import workbench
from services.deploy.deployable_models import DeployableModels
from services.deploy.endpoints import local_endpoints
from services.deploy.playground import sheet_items
from services.deploy.records import DeploymentStatus, RequestSource

REPLY = "deploy_playground_reply"

wb = workbench()
endpoints = local_endpoints(wb)

breadcrumb.show("DEPLOY")
st.title("Deploy")
st.caption(
    "A local endpoint serves the model in this app: `POST /api/v1/serving-endpoints/<name>/invocations` (the Databricks "
    "chat shape) or `…/chat/completions` (OpenAI-compatible). Every request is written to the inference log."
)
show_flash()

st.subheader("Model version")
versions = DeployableModels(wb).list()
if not versions:
    st.info("No registered model yet. Train one on the TRAIN page: its versions appear here with their Training Sheet and evaluation.")
    st.stop()
model = model_picker.show(versions, key="deploy_model")

st.subheader("Local endpoint")
choice = deploy_form.show(model, key="deploy_form")
if choice is not None:
    with shown_errors(), st.spinner(f"Loading {model.model_id}…"):
        deployed = endpoints.deploy(wb, model, choice.endpoint_name, choice.max_tokens, choice.schema_guardrail)
        flash(f"{deployed.endpoint_name} serves {deployed.model_id}.")
        st.rerun()
served = endpoints.endpoints()
endpoints_table.show(served, key="deploy_endpoints")

st.subheader("Playground")
ready = [d for d in served if d.status is DeploymentStatus.READY]
if not ready:
    st.info("Deploy a model version above to try it here.")
    st.stop()
with shown_errors():
    ask = playground.show(ready, lambda deployment: sheet_items(wb, deployment), key="deploy_playground")
    if ask is not None:
        name, request = ask
        with st.spinner("Waiting for the model…"):
            st.session_state[REPLY] = (request, endpoints.invoke(name, request, requester=wb.user.email, source=RequestSource.PLAYGROUND))
if answered := st.session_state.get(REPLY):
    playground.show_reply(*answered)
