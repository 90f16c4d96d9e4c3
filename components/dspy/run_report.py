"""What the DSPy Optimizer page shows: the model that runs, the dataset, and a run's result."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.templates.version_diff import show_changes
from services.dspy.optimizer_service import ModelNotice
from services.dspy.records import DspyDataset, DspyRun, RunStatus
from services.templates.prompt_templates import FieldDiff

TRACING_COST = (
    "Each call becomes an MLflow trace of its module, adapter and model spans, linked to the run: what DSPy sent and got "
    "back, call by call. Writing them costs the local MLflow store tens of milliseconds of CPU a call, so a traced run "
    "takes about four times as long on a 2-core machine. The run's settings, scores and program are logged either way."
)


def model_notice(notice: ModelNotice) -> None:
    if not notice.configured:
        st.warning("No language model is configured, so no run can start. Set WORKBENCH_LLM_BASE_URL to an OpenAI-compatible "
                   "server (or to this app's local endpoint at /api/v1/openai/v1), or run on Databricks with a serving endpoint.",
                   icon=":material/block:")
        return
    st.caption(f"Model: {notice.description}")
    if notice.tiny_local:
        st.info("This is a tiny model served by this app on the laptop: a run shows the mechanics of optimization "
                "(demos chosen, scores compared, a new template version), not production quality.", icon=":material/science:")


def dataset(data: DspyDataset) -> None:
    inputs = ", ".join(f.name for f in data.inputs)
    outputs = ", ".join(f.name for f in data.outputs)
    st.caption(f"Template {data.template.title} · signature {inputs} → {outputs} · {len(data.demos)} demo candidate(s) "
               f"(few-shot gate) · {len(data.evalset)} evaluation pair(s) (evaluation gate), never the same pair")
    if data.problems:
        with st.expander(f"Left out ({len(data.problems)})", icon=":material/report:"):
            st.markdown("\n".join(f"- {p}" for p in data.problems))


def run_label(run: DspyRun) -> str:
    scores = f" · {run.baseline_score:.0%} → {run.optimized_score:.0%}" if run.status is RunStatus.SUCCEEDED else ""
    decided = f" · {run.decision.value}" if run.decision else ""
    return f"{run.optimizer} · {run.status.value}{scores}{decided} · {run.run_id[:8]}"


def result(run: DspyRun, changes: list[FieldDiff]) -> None:
    if run.status is not RunStatus.SUCCEEDED or run.result is None:
        st.caption(f"This run {run.status.value}." + (f" {run.error}" if run.error else ""))
        return
    baseline, optimized = st.columns(2)
    baseline.metric("Baseline", f"{run.baseline_score:.0%}")
    optimized.metric("Optimized", f"{run.optimized_score:.0%}", f"{(run.optimized_score or 0) - (run.baseline_score or 0):+.0%}")
    st.caption(f"{run.metric.replace('_', ' ')} on the same {len(run.result.scores)} evaluation pair(s) · "
               f"{run.result.model_calls} model call(s) · {run.model}"
               + (f" · MLflow run {run.mlflow_run_id}" if run.mlflow_run_id else "")
               + (" · every model call traced" if run.config.get("trace_calls") else ""))
    st.markdown("**Changes to the template** (temperature is kept: the optimizers tune instructions and demos)")
    if not changes:
        st.caption("The optimized program is the template as it is.")
    show_changes(changes)
    st.dataframe(pd.DataFrame({"Pair": [s.pair_id for s in run.result.scores], "Baseline": [s.baseline for s in run.result.scores],
                               "Optimized": [s.optimized for s in run.result.scores]}), hide_index=True, width="stretch")
    if run.decision:
        st.caption(f"{run.decision.value.capitalize()} by {run.decided_by}"
                   + (f": template version {run.accepted_template_id}" if run.accepted_template_id else ""))
