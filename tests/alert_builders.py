"""Every statement MONITOR alerts issue (rules created, edited, disabled; an event opened,
delivered to a webhook and resolved; events and deliveries read back): for the Databricks SQL check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.core.workbench import Workbench


def alerts_sql_flow(wb: Workbench) -> None:
    from data_access.schema.migrate import migrate
    from data_access.webhooks.sender import HttpWebhookSender
    from services.deploy.inference_log import InferenceLogStore
    from services.monitor.alert_evaluation import AlertEvaluator
    from services.monitor.alert_events import AlertEventsStore
    from services.monitor.alert_records import AlertStatus
    from services.monitor.alert_rules import AlertRulesService
    from tests.fakes.webhook_receiver import running_receiver
    from tests.services.monitor.test_alert_rules import draft
    from tests.services.monitor.test_traffic import row

    migrate(wb.backend.engine, wb.settings)
    now = datetime.now(UTC)
    InferenceLogStore(wb).append([row(i, now - timedelta(minutes=i), 10.0, 500) for i in range(5)])
    rules = AlertRulesService(wb)
    with running_receiver() as receiver:
        rule = rules.create(draft(webhook_url=receiver.url))
        rule = rules.edit(rule.id, rule.row_version, draft(webhook_url=receiver.url, threshold=0.2))
        spare = rules.create(draft(name="Spare"))
        rules.set_enabled(spare.id, spare.row_version, False)
        evaluator = AlertEvaluator(wb, HttpWebhookSender(timeout_s=1.0, attempts=1))
        [fired] = evaluator.evaluate(now)
        InferenceLogStore(wb).append([row(100 + i, now + timedelta(minutes=30 + i), 10.0) for i in range(5)])
        [resolved] = evaluator.evaluate(now + timedelta(minutes=40), {"urgency"})
    assert resolved.event_id == fired.event_id
    rules.rules()
    rules.watchable_endpoints()
    rules.rules("urgency")
    events = AlertEventsStore(wb)
    events.events()
    events.events(AlertStatus.OPEN, "urgency")
    events.deliveries(fired.event_id)
