"""DEPLOY: serve a registered model version at a local endpoint of this app (or Model Serving on
Databricks), export it for the edge, and try it."""

import streamlit as st

from components import breadcrumb, job_progress
from components.deploy import deploy_form, edge_bundles, endpoints_table, model_picker, playground, serving_form
from components.feedback import flash, show_flash, shown_errors
from components.session import workbench
from services.core.jobs import JobRunner
from services.deploy.deployable_models import DeployableModels
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.edge_exports import EdgeExports
from services.deploy.endpoints import local_endpoints
from services.deploy.model_serving import serving_endpoints, serving_target, start_model_serving_deploy
from services.deploy.playground import sheet_items
from services.deploy.playground_requests import Playground

EDGE_JOB = "deploy_edge_job"
SERVING_JOB = "deploy_serving_job"

wb = workbench()
endpoints = local_endpoints(wb)
runner = JobRunner(wb)

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
        DeploymentsStore(wb).set_low_confidence_threshold(deployed.endpoint_name, choice.low_confidence_threshold)
        flash(f"{deployed.endpoint_name} serves {deployed.model_id}.")
        st.rerun()
served = endpoints.endpoints()
endpoints_table.show(served, key="deploy_endpoints")

if wb.settings.is_databricks:
    st.subheader("Model Serving")
    request = serving_form.show(model, versions, key="deploy_serving")
    if request is not None:
        with shown_errors():
            st.session_state[SERVING_JOB] = start_model_serving_deploy(wb, request)
    if serving_job := st.session_state.get(SERVING_JOB):
        job_progress.show(runner, serving_job, key="deploy_serving_progress")
    serving_form.show_endpoints(serving_endpoints(wb), key="deploy_serving_endpoints")

st.subheader("Export for edge")
st.caption("One archive to run offline: the weights, the template, a pinned requirements file, a server script and a manifest "
           "of every file's sha256 that the server checks before loading.")
edge = EdgeExports(wb)
if st.button(f"Export {model.model_id} for edge", key="deploy_edge_export", icon=":material/archive:"):
    with shown_errors():
        st.session_state[EDGE_JOB] = edge.start(model)
if job_id := st.session_state.get(EDGE_JOB):
    job_progress.show(runner, job_id, key="deploy_edge_progress")
edge_bundles.show(edge.bundles(), edge.open_archive, key="deploy_edge_bundles")

st.subheader("Playground")
if wb.settings.is_databricks:
    st.caption("A request to a Model Serving endpoint is logged by its AI Gateway inference table, which MONITOR reads, "
               "not by the workbench's inference log.")
serving = serving_target(wb) if wb.settings.is_databricks else None
playground.section(Playground(wb, endpoints, serving), lambda deployment: sheet_items(wb, deployment), key="deploy_playground")
