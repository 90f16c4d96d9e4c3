"""MONITOR's alerts through AppTest: a rule created, edited and disabled from the page, bad
input refused with a message, and an open alert shown on MONITOR and on Home."""

from __future__ import annotations

from datetime import UTC, datetime

from data_access.webhooks.sender import HttpWebhookSender
from services.deploy.inference_log import InferenceLogStore
from services.monitor.alert_evaluation import AlertEvaluator
from services.monitor.alert_records import AlertMetric
from services.monitor.alert_rules import AlertRulesService
from tests.fakes.webhook_receiver import running_receiver
from tests.services.monitor.test_alert_rules import draft
from tests.services.monitor.test_traffic import row


def test_a_rule_is_created_from_the_page_in_the_metrics_unit(open_page, workbench):
    InferenceLogStore(workbench).append([row(1, datetime.now(UTC), 5.0)])
    app = open_page("pages/monitor.py")
    assert not app.exception
    new = "monitor_alerts_New rule"
    app.text_input(key=f"{new}_name").input("Too many errors")
    app.number_input(key=f"{new}_threshold_error_rate").set_value(7.5)
    app.number_input(key=f"{new}_window").set_value(30)
    app.button(key=f"{new}_save").click().run()
    assert not app.exception
    [rule] = AlertRulesService(workbench).rules()
    assert (rule.name, rule.endpoint_name, rule.metric, rule.threshold, rule.window_minutes) == ("Too many errors", "urgency", AlertMetric.ERROR_RATE, 0.075, 30)


def test_a_rule_without_a_name_is_refused_with_a_message(open_page, workbench):
    InferenceLogStore(workbench).append([row(1, datetime.now(UTC), 5.0)])
    app = open_page("pages/monitor.py")
    app.button(key="monitor_alerts_New rule_save").click().run()
    assert "needs a name" in app.error[0].value
    assert AlertRulesService(workbench).rules() == []


def test_a_rule_is_edited_and_disabled_from_the_page(open_page, workbench):
    InferenceLogStore(workbench).append([row(1, datetime.now(UTC), 5.0)])
    rule = AlertRulesService(workbench).create(draft(metric=AlertMetric.LATENCY_P95, threshold=800))
    app = open_page("pages/monitor.py")
    app.selectbox(key="monitor_alerts_pick").set_value(rule.id).run()
    prefix = f"monitor_alerts_{rule.id}"
    assert app.number_input(key=f"{prefix}_threshold_latency_p95_ms").value == 800
    app.number_input(key=f"{prefix}_threshold_latency_p95_ms").set_value(1200)
    app.button(key=f"{prefix}_save").click().run()
    assert AlertRulesService(workbench).get(rule.id).threshold == 1200
    app.button(key=f"{prefix}_toggle").click().run()
    assert AlertRulesService(workbench).get(rule.id).enabled is False


def test_an_open_alert_is_shown_on_monitor_and_on_home(open_page, workbench):
    InferenceLogStore(workbench).append([row(i, datetime.now(UTC), 5.0, 500) for i in range(3)])
    with running_receiver() as receiver:
        AlertRulesService(workbench).create(draft(webhook_url=receiver.url))
        AlertEvaluator(workbench, HttpWebhookSender(timeout_s=1.0)).evaluate()
    monitor = open_page("pages/monitor.py")
    assert "Error rate of urgency was 100.0%" in monitor.warning[0].value and "webhook delivered" in monitor.warning[0].value
    home = open_page("pages/home.py")
    assert not home.exception
    assert "Error rate of urgency was 100.0%" in home.warning[0].value
