"""The Effectiveness tab: measure the examples on a Training Sheet's evaluation pairs (a job), the
chart of what helps and hurts with each example's usage, and pruning suggestions with their numbers."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import job_progress
from components.feedback import flash, shown_errors
from services.core.domain.job import JobStatus
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.example_store.effectiveness import NEUTRAL_BAND
from services.example_store.effectiveness import prune_suggestions as suggested
from services.example_store.effectiveness_job import JOB_TYPE, MAX_EVALUATION_PAIRS, launch
from services.example_store.examples import ExampleStore
from services.example_store.records import Example

CHART_HEIGHT = 320
LABEL_CHARS = 40  # an example's input on the chart's axis, cut to stay readable
_CONFIG = {"displaylogo": False}


def measure(wb: Workbench, store: ExampleStore) -> None:
    st.caption(f"Scores up to {MAX_EVALUATION_PAIRS} of the sheet's evaluation pairs (approved, allowed for evaluation) with "
               "every example its template shows them (fixed and retrieved) and again with each one left out. An example's "
               "effectiveness is the score with it minus the score without it (per-field match, -1 to 1), averaged over "
               "the pairs it was shown for. Uses the workbench's chat model; measuring does not count as use.")
    sheets = store.training_sheets()
    chosen = st.selectbox("Training Sheet", sheets, key="effect_sheet", format_func=lambda s: f"{s.name} ({s.label_type})", index=None)
    if st.button("Measure effectiveness", key="effect_go", type="primary", disabled=chosen is None):
        with shown_errors():
            st.session_state["effect_job"] = launch(wb, chosen.id)
    runner = JobRunner(wb)
    if job_id := st.session_state.get("effect_job"):
        job_progress.show(runner, job_id, key="effect_progress")
    last = next((j for j in runner.recent(1, job_type=JOB_TYPE) if j.status is JobStatus.SUCCEEDED and j.result), None)
    if last is not None and not last.result.get("cancelled"):
        _last_measurement(last.result)


def chart(examples: list[Example]) -> None:
    if not examples:
        st.info("No example has a measured effectiveness yet: measure them on a Training Sheet above, or accept or reject a "
                "DSPy run (its demos' examples get the run's lift).")
        return
    labels = [f"{_short(e.input)} · {e.example_id[:6]}" for e in examples]  # unique: equal inputs must not merge
    figure = go.Figure()
    figure.add_bar(x=labels, y=[e.effectiveness_score for e in examples], name="effectiveness",
                   marker_color=["#2e7d32" if (e.effectiveness_score or 0) > NEUTRAL_BAND else "#c62828" for e in examples],
                   customdata=[[e.example_id, e.usage_count] for e in examples],
                   hovertemplate="%{x}<br>effectiveness %{y:+.2f}<br>used %{customdata[1]} time(s)<extra></extra>")
    figure.add_scatter(x=labels, y=[e.usage_count for e in examples], name="usage count", mode="markers", yaxis="y2",
                       marker={"symbol": "diamond", "size": 9, "color": "#455a64"})
    figure.update_layout(title="Effectiveness per example (bars) and how often it was retrieved (diamonds)", height=CHART_HEIGHT,
                         margin={"t": 48, "b": 8, "l": 8, "r": 8}, yaxis={"title": "score with − without", "range": [-1.05, 1.05]},
                         yaxis2={"title": "usage count", "overlaying": "y", "side": "right", "rangemode": "tozero"},
                         legend={"orientation": "h", "y": -0.25})
    st.plotly_chart(figure, key="effect_chart", config=_CONFIG)


def prune_suggestions(store: ExampleStore, examples: list[Example]) -> None:
    weak = suggested(examples)
    if not weak:
        if examples:
            st.success("Every measured example helps: nothing to prune.")
        return
    st.subheader("Pruning suggestions")
    st.caption("These examples did not raise the evaluation score (0: no change; below 0: the score was higher without them).")
    st.dataframe(pd.DataFrame({
        "Input": [e.input for e in weak], "Effectiveness": [e.effectiveness_score for e in weak],
        "Used": [e.usage_count for e in weak], "Function": [e.function_name or "" for e in weak], "Id": [e.example_id for e in weak],
    }), hide_index=True, key="effect_suggestions")
    if st.button(f"Prune these {len(weak)}", key="effect_prune"):
        flash(f"Pruned {store.prune([e.example_id for e in weak])} example(s) that did not help.")
        st.rerun()


def _last_measurement(result: dict[str, Any]) -> None:
    st.caption(f"Last measured on {result['pairs']} evaluation pair(s) of {result['template']} by {result['model']}: "
               f"score with every example {result['baseline']:.2f}; {result['model_calls']} model call(s)"
               + (f", {result['failed_calls']} failed (left out)" if result["failed_calls"] else "") + ".")
    effects = result["effects"]
    st.dataframe(pd.DataFrame({
        "Example": [e["label"] for e in effects],
        "Kind": ["fixed in the template" if e["fixed"] is not None else "Example Store" for e in effects],
        "Effectiveness": [e["effect"] for e in effects], "Pairs": [e["pairs"] for e in effects],
        "Helped": [e["helped"] for e in effects], "Hurt": [e["hurt"] for e in effects],
    }), hide_index=True, key="effect_last")


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
