"""DSPy Optimizer: a Training Sheet's governed pairs optimize its template's instructions and demos;
a person accepts the result as a new draft version of the template, or rejects it."""

import streamlit as st

from components import breadcrumb, job_progress
from components.dspy import run_report
from components.feedback import flash, show_flash, shown_errors
from components.session import workbench
from services.core.jobs import JobRunner
from services.dspy.optimization import MAX_DEMOS_LIMIT
from services.dspy.optimizer_service import DspyOptimizerService
from services.dspy.records import Metric, Optimizer

wb = workbench()
service = DspyOptimizerService(wb)

breadcrumb.show()
st.title("DSPy Optimizer")
show_flash()
sheets = service.training_sheets()
if not sheets:
    st.info("No Training Sheet yet: generate one (GENERATE) and approve pairs (LABEL) to optimize its template.")
    st.stop()

chosen = st.selectbox("Training Sheet", sheets, key="dspy_sheet", format_func=lambda s: f"{s.name} ({s.template_title}) · {s.usable:,} pairs for few-shot or evaluation")
with shown_errors():
    dataset = service.dataset(chosen.id)
    notice = service.model_notice(dataset.template)
    run_report.model_notice(notice)
    run_report.dataset(dataset)
    optimizer_column, metric_column, demos_column = st.columns(3)
    optimizer = optimizer_column.selectbox("Optimizer", list(Optimizer), key="dspy_optimizer")
    metric = metric_column.selectbox("Metric", list(Metric), key="dspy_metric", format_func=lambda m: m.replace("_", " "))
    max_demos = demos_column.number_input("Demos (at most)", 1, MAX_DEMOS_LIMIT, 4, key="dspy_demos")
    trace_calls = st.checkbox("Trace every model call in MLflow", value=wb.settings.dspy_traces, key="dspy_trace_calls",
                              help=run_report.TRACING_COST)
    if st.button("Optimize", key="dspy_launch", type="primary", disabled=not notice.configured):
        st.session_state["dspy_job"] = service.launch(chosen.id, optimizer, metric, int(max_demos), trace_calls=trace_calls)

if job_id := st.session_state.get("dspy_job"):
    job_progress.show(JobRunner(wb), job_id, key="dspy_job_progress")
    launched = service.run_of_job(job_id)
    if launched is not None and st.session_state.get("dspy_job_run") != launched.run_id:
        st.session_state["dspy_run"] = st.session_state["dspy_job_run"] = launched.run_id  # show the new run once

st.subheader("Runs")
runs = service.recent()
if not runs:
    st.caption("No run yet.")
    st.stop()
ids = [r.run_id for r in runs]
picked = st.selectbox("Run", ids, key="dspy_run", format_func=lambda i: run_report.run_label(runs[ids.index(i)]))
run = runs[ids.index(picked)]
with shown_errors():
    run_report.result(run, service.diff(run) if run.result else [])
    if run.result and run.decision is None:
        accept, reject = st.columns(2)
        if accept.button("Accept as a new template version", key="dspy_accept", type="primary"):
            flash(f"Accepted: {service.accept(run.run_id).title} is a new draft with the optimized instructions and demos.")
            st.rerun()
        if reject.button("Reject", key="dspy_reject"):
            service.reject(run.run_id)
            flash("Rejected; the template stays as it is. The per-pair scores were kept.")
            st.rerun()
