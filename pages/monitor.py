"""MONITOR: what a local endpoint did, read from the inference log and aggregated in SQL."""

import streamlit as st

from components import breadcrumb
from components.monitor import alerts, alerts_quality, filters, traffic_charts
from components.session import workbench
from services.monitor.traffic import TrafficService

wb = workbench()
traffic = TrafficService(wb)

breadcrumb.show("MONITOR")
st.title("Monitor")
st.caption(
    "Every request to a local endpoint is a row of the inference log (answered or refused). "
    "Latency percentiles are approximate (`percentile_approx`); a time bucket with no requests is left out."
)

alerts.show(wb, key="monitor_alerts")
alerts_quality.show(wb, key="monitor_quality")

logged = traffic.endpoints()
if not logged:
    st.info(
        "Nothing is logged yet. Requests to a local endpoint fill this page: deploy a model version on the DEPLOY page and "
        "send a prompt from its Playground, or POST to /api/v1/serving-endpoints/<name>/invocations."
    )
    st.stop()

endpoint, version, window = filters.show(logged, key="monitor")
summary = traffic.summary(endpoint, version, window)
if summary.requests == 0:
    which = f"{endpoint} v{version}" if version else endpoint
    st.info(f"No requests to {which} in the {window.title.lower()}. Pick a longer window, or send it requests from the DEPLOY Playground.")
    st.stop()
traffic_charts.show_summary(summary)
traffic_charts.show_over_time(traffic.over_time(endpoint, version, window), key="monitor_traffic")
