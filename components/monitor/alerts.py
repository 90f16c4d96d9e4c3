"""MONITOR's alerts: the open alert events first, then the rules (create, edit, disable or
enable) and the recent events with where each was delivered."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.core.errors import WorkbenchError
from services.core.workbench import Workbench
from services.monitor.alert_evaluation import evaluate_now
from services.monitor.alert_events import AlertEventsStore
from services.monitor.alert_records import AlertEvent, AlertMetric, AlertRule, AlertRuleDraft, AlertStatus, Comparison
from services.monitor.alert_rules import AlertRulesService

NEW_RULE = "New rule"
DEFAULT_WINDOW_MINUTES = 15
_UNITS = {AlertMetric.ERROR_RATE: "%", AlertMetric.LATENCY_P95: "ms", AlertMetric.REQUEST_COUNT: "requests"}
# A new rule's starting threshold per metric, in the unit the form shows.
_DEFAULT_THRESHOLD = {AlertMetric.ERROR_RATE: 5.0, AlertMetric.LATENCY_P95: 1000.0, AlertMetric.REQUEST_COUNT: 1.0}


def show_open(events: list[AlertEvent]) -> None:
    for event in events:
        delivered = f" · webhook {event.delivery}" if event.delivery else ""
        st.warning(f"**Open since {event.created_at:%Y-%m-%d %H:%M} UTC** · {event.message}{delivered}", icon=":material/notifications_active:")


def show(workbench: Workbench, key: str) -> None:
    rules_service, events = AlertRulesService(workbench), AlertEventsStore(workbench)
    show_open(events.events(AlertStatus.OPEN))
    rules = rules_service.rules()
    with st.expander(f"Alert rules ({len(rules)}) and recent alerts", icon=":material/notifications:"):
        when = ("with Evaluate now (on Databricks the app has no identity of its own to evaluate them on a schedule)"
                if workbench.settings.is_databricks else "every minute and soon after requests are logged")
        st.caption(f"A rule watches one endpoint's traffic over a trailing window. It is evaluated {when}; a breach opens "
                   "one alert (kept open until the metric recovers) and each change is POSTed as JSON to the rule's webhook, "
                   "if it has one.")
        if rules:
            st.dataframe(_rules_frame(rules), hide_index=True, key=f"{key}_rules")
        _editor(rules_service, rules, key)
        _recent(events.events(), key)
        if st.button("Evaluate now", key=f"{key}_evaluate", icon=":material/refresh:"):
            changes = evaluate_now(workbench)
            st.toast(f"{len(changes)} alert(s) opened or resolved." if changes else "No alert opened or resolved.")
            st.rerun()


def _rules_frame(rules: list[AlertRule]) -> pd.DataFrame:
    return pd.DataFrame([{"Rule": r.name, "Watches": r.describe(), "Enabled": r.enabled, "Webhook": r.webhook_url or "—",
                          "Changed by": r.updated_by} for r in rules])


def _editor(service: AlertRulesService, rules: list[AlertRule], key: str) -> None:
    by_id = {r.id: r for r in rules}
    picked = st.selectbox("Create or edit", [NEW_RULE, *by_id], key=f"{key}_pick",
                          format_func=lambda i: i if i == NEW_RULE else by_id[i].name)
    rule = by_id.get(picked)
    endpoints = service.watchable_endpoints()
    if rule is not None and rule.endpoint_name not in endpoints:
        endpoints.append(rule.endpoint_name)
    if not endpoints:
        st.caption("No endpoint to watch yet: deploy a model on the DEPLOY page, then add a rule here.")
        return
    draft = _fields(rule, endpoints, f"{key}_{picked}")
    save, toggle = st.columns([1, 1])
    try:
        if save.button("Create rule" if rule is None else "Save rule", key=f"{key}_{picked}_save", type="primary"):
            saved = service.create(draft) if rule is None else service.edit(rule.id, rule.row_version, draft)
            st.toast(f"Rule {saved.name} saved.")
            st.rerun()
        if rule is not None and toggle.button("Disable rule" if rule.enabled else "Enable rule", key=f"{key}_{picked}_toggle"):
            service.set_enabled(rule.id, rule.row_version, not rule.enabled)
            st.rerun()
    except WorkbenchError as error:
        st.error(str(error))


def _fields(rule: AlertRule | None, endpoints: list[str], key: str) -> AlertRuleDraft:
    left, right = st.columns(2)
    name = left.text_input("Name", value=rule.name if rule else "", key=f"{key}_name", max_chars=120)
    endpoint = right.selectbox("Endpoint", endpoints, index=endpoints.index(rule.endpoint_name) if rule else 0, key=f"{key}_endpoint")
    metrics, comparisons = list(AlertMetric), list(Comparison)
    metric_col, comparison_col, threshold_col, window_col = st.columns(4)
    metric = metric_col.selectbox("Metric", metrics, index=metrics.index(rule.metric) if rule else 0, key=f"{key}_metric",
                                  format_func=lambda m: m.title)
    comparison = comparison_col.selectbox("Alert when", comparisons, index=comparisons.index(rule.comparison) if rule else 0,
                                          key=f"{key}_comparison", format_func=lambda c: f"{c.value} the threshold")
    shown = _DEFAULT_THRESHOLD[metric] if rule is None or rule.metric is not metric else rule.threshold * (100 if metric is AlertMetric.ERROR_RATE else 1)
    threshold = threshold_col.number_input(f"Threshold ({_UNITS[metric]})", min_value=0.0, value=float(shown), key=f"{key}_threshold_{metric.value}")
    window = window_col.number_input("Window (minutes)", min_value=1, value=rule.window_minutes if rule else DEFAULT_WINDOW_MINUTES,
                                     step=1, key=f"{key}_window")
    webhook = st.text_input("Webhook URL (optional)", value=(rule.webhook_url or "") if rule else "", key=f"{key}_webhook",
                            placeholder="https://hooks.example.com/…")
    return AlertRuleDraft(name, endpoint, metric, comparison, threshold / 100 if metric is AlertMetric.ERROR_RATE else threshold,
                          int(window), webhook or None)


def _recent(events: list[AlertEvent], key: str) -> None:
    if not events:
        st.caption("No alert has opened yet.")
        return
    st.dataframe(pd.DataFrame([{
        "Opened": e.created_at, "Endpoint": e.endpoint_name, "Status": e.status.value, "What happened": e.message,
        "Resolved": e.resolved_at, "Webhook": e.delivery or "—"} for e in events]), hide_index=True, key=f"{key}_events")
