"""An endpoint's traffic: the window's figures, then requests, latency and errors over time."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from services.monitor.traffic import TrafficBucket, TrafficSummary

CHART_HEIGHT = 260


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def rate(requests_per_s: float) -> str:
    """Requests per second, or per minute or hour when fewer: a quiet endpoint reads 3 req/h, not 8.3e-04 req/s."""
    unit, seconds = next(((u, s) for u, s in (("s", 1), ("min", 60)) if requests_per_s * s >= 1), ("h", 3600))
    return f"{requests_per_s * seconds:,.3g} req/{unit}"


def show_summary(summary: TrafficSummary) -> None:
    requests, throughput, errors, p50, p95, p99 = st.columns(6)
    requests.metric("Requests", f"{summary.requests:,}")
    throughput.metric("Throughput", rate(summary.requests_per_s), help="Requests per unit of time over the whole window.")
    errors.metric("Error rate", "—" if summary.error_rate is None else f"{summary.error_rate:.1%}", help="Status 400 or above: guardrail refusals, a full queue, timeouts, model failures.")
    p50.metric("Latency p50", _ms(summary.p50_ms))
    p95.metric("Latency p95", _ms(summary.p95_ms))
    p99.metric("Latency p99", _ms(summary.p99_ms))


def figure(title: str, y_title: str, height: int = CHART_HEIGHT) -> go.Figure:
    """An empty chart in the MONITOR page's style."""
    chart = go.Figure()
    chart.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, yaxis_title=y_title,
                         legend={"orientation": "h"})
    return chart


def show_over_time(buckets: list[TrafficBucket], key: str) -> None:
    starts = [b.start for b in buckets]
    volume = figure("Requests and throughput", "requests")
    volume.add_bar(x=starts, y=[b.requests for b in buckets], name="requests")
    volume.add_scatter(x=starts, y=[b.requests_per_s for b in buckets], mode="lines+markers", name="requests/s", yaxis="y2")
    volume.update_layout(yaxis2={"title": "requests/s", "overlaying": "y", "side": "right", "rangemode": "tozero"})
    st.plotly_chart(volume, key=f"{key}_requests", config={"displaylogo": False})
    latency = figure("Latency", "ms")
    for name, values in (("p50", [b.p50_ms for b in buckets]), ("p95", [b.p95_ms for b in buckets]), ("p99", [b.p99_ms for b in buckets])):
        latency.add_scatter(x=starts, y=values, mode="lines+markers", name=name)
    st.plotly_chart(latency, key=f"{key}_latency", config={"displaylogo": False})
    errors = figure("Error rate", "share of requests")
    errors.add_scatter(x=starts, y=[b.error_rate for b in buckets], mode="lines+markers", name="error rate")
    errors.update_yaxes(tickformat=".0%", rangemode="tozero")
    st.plotly_chart(errors, key=f"{key}_errors", config={"displaylogo": False})
