"""IMPROVE's gap analysis for one model version: per answer value, what it trained on against what
feedback says of its answers; the confusions; new values; the recommendations with their numbers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.feedback import shown_errors
from components.monitor.traffic_charts import figure
from components.text import plain
from services.core.workbench import Workbench
from services.improve.gaps import HIGH_ERROR_RATE, MIN_FEEDBACK, GapReport, GapService, ModelVersionChoice

CHART_HEIGHT = 320
_CONFIG = {"displaylogo": False}


def section(wb: Workbench, key: str = "gaps") -> None:
    st.subheader("Gap analysis")
    service = GapService(wb)
    versions = service.versions()
    if not versions:
        st.info("No trained model version yet. Gap analysis sets what a version trained on (its lineage, written when a "
                "TRAIN run finishes) beside the feedback on its answers: train a model on a Training Sheet first.")
        return
    choice: ModelVersionChoice = st.selectbox(
        "Model version", versions, format_func=lambda c: f"{c.model_id} · {c.feedback:,} feedback", key=f"{key}_version",
    )
    report: GapReport | None = None
    with shown_errors():
        report = service.report(choice.model_name, choice.model_version)
    if report is None:
        return
    if not report.fields:
        st.info(f"{report.model_id}'s output schema has no field with a fixed set of values (choices, or true/false): "
                "gap analysis counts such values, so there is nothing to count for this model.")
        return
    if report.feedback == 0:
        st.info(f"No feedback on {report.model_id} yet. Thumbs up or down and corrections on its answers (the DEPLOY "
                "Playground, MONITOR's sample predictions, `POST /api/v1/feedback`) fill the error rates, the confusions and "
                "the recommendations; until then the table shows what it trained on.")
    _table(report, key)
    _chart(report, key)
    _confusions(report, key)
    _recommendations(report)


def _table(report: GapReport, key: str) -> None:
    several = len(report.fields) > 1
    frame = pd.DataFrame([{
        **({"Field": v.field} if several else {}), "Value": v.value, "In schema": v.in_schema, "New": v.is_new,
        "Training pairs": v.training_pairs, "Feedback": v.feedback, "Negative": v.negative, "Error rate": v.error_rate,
        "Corrected to it": v.corrected_to,
    } for v in report.values])
    st.dataframe(frame, hide_index=True, key=f"{key}_table", column_config={
        "Error rate": st.column_config.NumberColumn(format="percent", help="Negative feedback ÷ feedback on answers giving this value."),
        "Feedback": st.column_config.NumberColumn(help="Ratings and corrections of answers that gave this value (not dismissed ones)."),
        "Corrected to it": st.column_config.NumberColumn(help="Corrections that give this value instead of the model's."),
        "New": st.column_config.CheckboxColumn(help="Corrections name it, but neither the output schema nor the training set has it."),
    })


def _chart(report: GapReport, key: str) -> None:
    rated = [v for v in report.values if v.error_rate is not None]
    if not rated:
        return
    chart = figure(f"{report.model_id}: training pairs against error rate", "error rate", CHART_HEIGHT)
    chart.add_scatter(
        x=[v.training_pairs for v in rated], y=[v.error_rate for v in rated], mode="markers+text", name="values",
        text=[v.value for v in rated], textposition="top center",
        marker={"size": [8 + min(v.feedback, 40) for v in rated]},
        customdata=[[v.feedback, v.negative] for v in rated],
        hovertemplate="%{text}: %{x} training pairs, %{customdata[1]} of %{customdata[0]} feedback negative<extra></extra>",
    )
    chart.update_xaxes(title="training pairs")
    chart.update_yaxes(tickformat=".0%", range=[-0.05, 1.1])
    st.plotly_chart(chart, key=f"{key}_chart", config=_CONFIG)
    st.caption("Each value the model answered; a larger dot had more feedback. Top left: few pairs, often wrong.")


def _confusions(report: GapReport, key: str) -> None:
    if not report.confusions:
        return
    st.markdown("**Most confused** (the model's value → the correction's)")
    st.dataframe(pd.DataFrame([{"Predicted": c.predicted, "Corrected to": c.corrected, "Corrections": c.count}
                               for c in report.confusions]), hide_index=True, key=f"{key}_confusions")


def _recommendations(report: GapReport) -> None:
    st.markdown("**Recommendations**, most feedback answered first")
    if not report.recommendations:
        st.caption(f"None: no value is answered wrong often enough to say (at least {MIN_FEEDBACK} feedback items and "
                   f"{HIGH_ERROR_RATE:.0%} of them negative), none is new, and every value of the schema has training pairs.")
        return
    st.markdown("\n".join(f"{i}. {plain(r.sentence)}" for i, r in enumerate(report.recommendations, start=1)))

