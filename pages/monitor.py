"""MONITOR: what a local endpoint did, read from the inference log and aggregated in SQL."""

import streamlit as st

from components import breadcrumb
from components.feedback import shown_errors
from components.improve import feedback_form
from components.monitor import (
    alerts,
    alerts_quality,
    drift_panel,
    filters,
    prediction_charts,
    samples_grid,
    traffic_charts,
    versions_ab,
)
from components.session import workbench
from services.improve.records import FeedbackOrigin
from services.monitor.drift import DriftService, prediction_drift
from services.monitor.log_scope import LogScope
from services.monitor.predictions import PredictionService
from services.monitor.samples import SampleService
from services.monitor.traffic import TrafficService
from services.monitor.versions_compared import compare_versions, evaluated_on_same_pairs
from services.monitor.watched_model import watched_model

wb = workbench()
traffic, predictions, drift, samples = TrafficService(wb), PredictionService(wb), DriftService(wb), SampleService(wb)

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
scope = LogScope(endpoint, version, window)
summary, buckets = traffic.in_window(endpoint, version, window)
if summary.requests == 0:
    st.info(f"No requests to {scope.title} in the {window.title.lower()}. Pick a longer window, or send it requests from the DEPLOY Playground.")
    st.stop()
traffic_charts.show_summary(summary)
traffic_charts.show_over_time(buckets, key="monitor_traffic")

model = watched_model(wb, scope)
distributions = predictions.distributions(scope, model) if model else []
predicted, drifted, sampled, ab = st.tabs(["Predictions", "Drift", "Sample predictions", "A/B"])
with predicted, shown_errors():
    if model is None:
        st.info("Comparing with the training set needs one model version with its training on record: pick a version above "
                "(this window saw several), or deploy a version trained on the TRAIN page.")
    else:
        prediction_charts.show_distributions(distributions, key="monitor_predicted")
        prediction_charts.show_accuracy(predictions.accuracy_over_time(scope, model), key="monitor_predicted")
    prediction_charts.show_confidence(predictions.confidence_histogram(scope), key="monitor_predicted")
with drifted, shown_errors():
    if model is None:
        st.info("Drift is measured against one version's training set: pick a model version above.")
    else:
        drift_panel.show(prediction_drift(distributions) + drift.numeric_inputs(scope, model), lambda: drift.text_inputs(scope, model),
                         key=f"monitor_drift_{endpoint}_{model.model_version}_{window.name}")
with sampled, shown_errors():
    label_type = model.label_type if model else None
    if opened := samples_grid.show(samples.recent(scope, label_type), key=f"monitor_samples_{endpoint}"):
        request = samples.get(opened, label_type)
        samples_grid.show_request(wb, request, samples.source_item(request))
        feedback_form.show_given(wb, opened)
        feedback_form.show(wb, inference_log_id=opened, origin=FeedbackOrigin.MONITOR, key=f"monitor_feedback_{opened}")
with ab, shown_errors():
    if pair := versions_ab.pick(next(e.versions for e in logged if e.name == endpoint), key=f"monitor_ab_{endpoint}"):
        versions_ab.show(compare_versions(wb, scope, pair), evaluated_on_same_pairs(wb, scope, pair))
