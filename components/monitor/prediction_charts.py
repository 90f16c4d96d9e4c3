"""What the model predicted beside what it was trained on, its reported confidence, and its
accuracy over time where the answer is known."""

from __future__ import annotations

import streamlit as st

from components.monitor.traffic_charts import figure as _chart
from services.monitor.predictions import AccuracyBucket, ConfidenceBin, FieldDistribution
from services.monitor.psi import shares

CHART_HEIGHT = 280
_CONFIG = {"displaylogo": False}


def show_distributions(distributions: list[FieldDistribution], key: str) -> None:
    if not distributions:
        st.info("This model's answers have no field with a fixed set of values or a number (its template's output schema), "
                "so there is no distribution to set beside its training answers.")
        return
    for d in distributions:
        figure = _chart(f"Predicted {d.field}: live against training", "share", CHART_HEIGHT)
        figure.add_bar(x=list(d.bins), y=shares(d.training), name=f"training ({d.training_total:,} answers)")
        figure.add_bar(x=list(d.bins), y=shares(d.live), name=f"live ({d.live_total:,} answered requests)")
        figure.update_layout(barmode="group")
        figure.update_yaxes(tickformat=".0%")
        st.plotly_chart(figure, key=f"{key}_{d.field}", config=_CONFIG)


def show_confidence(bins: list[ConfidenceBin], key: str) -> None:
    if not bins:
        st.caption("No confidence histogram: this model does not report a confidence with its answers (the log's confidence is empty).")
        return
    figure = _chart("Reported confidence", "requests", CHART_HEIGHT)
    figure.add_bar(x=[f"{b.low:.1f}–{b.high:.1f}" for b in bins], y=[b.requests for b in bins], name="requests")
    st.plotly_chart(figure, key=f"{key}_confidence", config=_CONFIG)


def show_accuracy(buckets: list[AccuracyBucket], key: str) -> None:
    if not buckets:
        st.info("No accuracy yet: it needs requests whose right answer is known. Send items of the model's sheet that have a "
                "canonical label from the DEPLOY Playground (labeled evaluation traffic); feedback corrections will count too.")
        return
    figure = _chart("Accuracy over time", "share right", CHART_HEIGHT)
    for source in sorted({b.source for b in buckets}):
        mine = [b for b in buckets if b.source == source]
        figure.add_scatter(x=[b.start for b in mine], y=[b.accuracy for b in mine], mode="lines+markers", name=source,
                           text=[f"{b.correct} of {b.compared}" for b in mine])
    figure.update_yaxes(tickformat=".0%", range=[0, 1.05])
    st.plotly_chart(figure, key=f"{key}_accuracy", config=_CONFIG)
    compared, correct = sum(b.compared for b in buckets), sum(b.correct for b in buckets)
    st.caption(f"{correct:,} of {compared:,} answers right in the window ({correct / compared:.0%}); every compared answer field must match.")
