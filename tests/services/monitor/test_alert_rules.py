"""Alert rules: created with checked input, edited with the version read, disabled and enabled."""

from __future__ import annotations

import pytest

from services.core.errors import StaleWriteError, ValidationError
from services.monitor.alert_records import AlertMetric, AlertRuleDraft, Comparison
from services.monitor.alert_rules import AlertRulesService


def draft(**changes) -> AlertRuleDraft:
    fields = {"name": "Errors", "endpoint_name": "urgency", "metric": AlertMetric.ERROR_RATE, "comparison": Comparison.ABOVE,
              "threshold": 0.1, "window_minutes": 15, "webhook_url": None} | changes
    return AlertRuleDraft(**fields)


def test_a_created_rule_is_stored_enabled_with_who_made_it(workbench):
    rules = AlertRulesService(workbench)
    rule = rules.create(draft(name="  Errors  ", webhook_url=" http://127.0.0.1:9/hook "))
    stored = rules.get(rule.id)
    assert (stored.name, stored.enabled, stored.created_by, stored.row_version) == ("Errors", True, "tester@example.com", 1)
    assert stored.webhook_url == "http://127.0.0.1:9/hook"
    assert stored.describe() == "Error rate of urgency over 15 min above 10.0%"


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": " "}, "name"), ({"endpoint_name": ""}, "endpoint_name"), ({"window_minutes": 0}, "window_minutes"),
    ({"threshold": -1}, "threshold"), ({"threshold": float("nan")}, "threshold"), ({"threshold": 5}, "threshold"),
    ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
])
def test_bad_input_is_refused_and_nothing_is_stored(workbench, changes, field):
    rules = AlertRulesService(workbench)
    with pytest.raises(ValidationError) as refused:
        rules.create(draft(**changes))
    assert refused.value.field == field
    assert rules.rules() == []


def test_a_latency_threshold_may_exceed_one(workbench):
    rule = AlertRulesService(workbench).create(draft(metric=AlertMetric.LATENCY_P95, threshold=500))
    assert rule.threshold == 500


def test_an_edit_with_the_version_read_changes_the_rule_and_a_stale_one_is_refused(workbench):
    rules = AlertRulesService(workbench)
    rule = rules.create(draft())
    edited = rules.edit(rule.id, rule.row_version, draft(threshold=0.2, window_minutes=30))
    assert (edited.threshold, edited.window_minutes, edited.row_version) == (0.2, 30, 2)
    with pytest.raises(StaleWriteError):
        rules.edit(rule.id, rule.row_version, draft(threshold=0.5))
    assert rules.get(rule.id).threshold == 0.2


def test_a_disabled_rule_is_kept_but_not_evaluated(workbench):
    rules = AlertRulesService(workbench)
    kept, other = rules.create(draft()), rules.create(draft(name="Slow", endpoint_name="other", metric=AlertMetric.LATENCY_P95, threshold=900))
    rules.set_enabled(kept.id, kept.row_version, False)
    assert [r.id for r in rules.enabled_rules()] == [other.id]
    assert {r.id for r in rules.rules()} == {kept.id, other.id}
    assert rules.enabled_rules({"urgency"}) == []
