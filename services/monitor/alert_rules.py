"""Alert rules: created, edited, disabled and enabled on MONITOR; a rule is never deleted, so
the alert events it opened keep their meaning. An edit carries the version it read: a stale
edit (someone changed the rule meanwhile) is refused and changes nothing."""

from __future__ import annotations

import math
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from data_access.webhooks.sender import WebhookUrlError, check_webhook_url
from services.core.errors import NotFoundError, StaleWriteError, ValidationError
from services.core.workbench import Workbench
from services.deploy.endpoints import ENDPOINT_NAME
from services.monitor.alert_records import AlertMetric, AlertRule, AlertRuleDraft, Comparison

MAX_NAME_CHARS = 120  # a rule's name is a table cell and a webhook field, not a description
MAX_WINDOW_MINUTES = 7 * 24 * 60  # the MONITOR page's longest common view; longer windows react too slowly to alert on
MAX_RULES_SHOWN = 500  # far above what a person manages by hand; evaluation reads every enabled rule

_COLUMNS = ("id, name, endpoint_name, metric, comparison, threshold, window_minutes, webhook_url, enabled, created_by, "
            "created_at, updated_by, updated_at, row_version")


def _checked(draft: AlertRuleDraft) -> AlertRuleDraft:
    name = draft.name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise ValidationError(f"A rule needs a name of 1 to {MAX_NAME_CHARS} characters.", field="name")
    if not ENDPOINT_NAME.match(draft.endpoint_name or ""):
        raise ValidationError("Pick the endpoint the rule watches.", field="endpoint_name")
    if not 1 <= draft.window_minutes <= MAX_WINDOW_MINUTES:
        raise ValidationError(f"The window is 1 to {MAX_WINDOW_MINUTES:,} minutes.", field="window_minutes")
    threshold = float(draft.threshold)
    if not math.isfinite(threshold) or threshold < 0:
        raise ValidationError("The threshold is a number of zero or more.", field="threshold")
    if draft.metric is AlertMetric.ERROR_RATE and threshold > 1:
        raise ValidationError("An error rate threshold is a share between 0 and 1 (0.05 for 5 %).", field="threshold")
    url = (draft.webhook_url or "").strip() or None
    if url is not None:
        try:
            url = check_webhook_url(url)
        except WebhookUrlError as error:
            raise ValidationError(str(error), field="webhook_url") from None
    return replace(draft, name=name, threshold=threshold, webhook_url=url)


def _rule(row: dict[str, Any]) -> AlertRule:
    return AlertRule(
        id=row["id"], name=row["name"], endpoint_name=row["endpoint_name"], metric=AlertMetric(row["metric"]),
        comparison=Comparison(row["comparison"]), threshold=float(row["threshold"]), window_minutes=int(row["window_minutes"]),
        webhook_url=row["webhook_url"], enabled=bool(row["enabled"]), created_by=row["created_by"], created_at=row["created_at"],
        updated_by=row["updated_by"], updated_at=row["updated_at"], row_version=int(row["row_version"]),
    )


class AlertRulesService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._table = workbench.table("alert_rules")

    def create(self, draft: AlertRuleDraft) -> AlertRule:
        draft = _checked(draft)
        now, who = datetime.now(UTC), self._wb.user.email
        rule = AlertRule(str(uuid.uuid4()), draft.name, draft.endpoint_name, draft.metric, draft.comparison, draft.threshold,
                         draft.window_minutes, draft.webhook_url, True, who, now, who, now, 1)
        self._engine.execute(
            f"INSERT INTO {self._table} ({_COLUMNS}) VALUES (:id, :name, :endpoint_name, :metric, :comparison, :threshold, "
            ":window_minutes, :webhook_url, TRUE, :who, :now, :who, :now, 1)",
            {"id": rule.id, "name": rule.name, "endpoint_name": rule.endpoint_name, "metric": rule.metric.value,
             "comparison": rule.comparison.value, "threshold": rule.threshold, "window_minutes": rule.window_minutes,
             "webhook_url": rule.webhook_url, "who": who, "now": now},
        )
        return rule

    def edit(self, rule_id: str, read_version: int, draft: AlertRuleDraft) -> AlertRule:
        draft = _checked(draft)
        self._update(
            rule_id, read_version,
            "name = :name, endpoint_name = :endpoint_name, metric = :metric, comparison = :comparison, threshold = :threshold, "
            "window_minutes = :window_minutes, webhook_url = :webhook_url",
            {"name": draft.name, "endpoint_name": draft.endpoint_name, "metric": draft.metric.value,
             "comparison": draft.comparison.value, "threshold": draft.threshold, "window_minutes": draft.window_minutes,
             "webhook_url": draft.webhook_url},
        )
        return self.get(rule_id)

    def set_enabled(self, rule_id: str, read_version: int, enabled: bool) -> AlertRule:
        self._update(rule_id, read_version, "enabled = :enabled", {"enabled": enabled})
        return self.get(rule_id)

    def _update(self, rule_id: str, read_version: int, assignments: str, params: dict[str, Any]) -> None:
        changed = self._engine.execute(
            f"UPDATE {self._table} SET {assignments}, updated_by = :who, updated_at = :now, row_version = row_version + 1 "
            "WHERE id = :id AND row_version = :read_version",
            {**params, "who": self._wb.user.email, "now": datetime.now(UTC), "id": rule_id, "read_version": read_version},
        )
        if changed == 0:
            self.get(rule_id)  # NotFoundError when it is gone
            raise StaleWriteError("Someone changed this rule after you opened it; nothing was saved. Reload to see their change.")

    def get(self, rule_id: str) -> AlertRule:
        row = self._engine.query_one(f"SELECT {_COLUMNS} FROM {self._table} WHERE id = :id", {"id": rule_id})
        if row is None:
            raise NotFoundError("That alert rule does not exist.")
        return _rule(row)

    def rules(self, endpoint_name: str | None = None) -> list[AlertRule]:
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE (:endpoint IS NULL OR endpoint_name = :endpoint) "
            "ORDER BY endpoint_name, name, created_at LIMIT :limit",
            {"endpoint": endpoint_name, "limit": MAX_RULES_SHOWN},
        )
        return [_rule(r) for r in rows]

    def watchable_endpoints(self) -> list[str]:
        """Endpoints a rule may watch: those deployed (locally or on Databricks) and those with logged requests."""
        rows = self._engine.query(
            f"SELECT endpoint_name FROM {self._wb.table('deployments')} WHERE status = 'ready' AND target <> 'edge' "
            f"UNION SELECT endpoint_name FROM {self._wb.table('inference_log')} ORDER BY endpoint_name"
        )
        return [r["endpoint_name"] for r in rows if r["endpoint_name"]]

    def enabled_rules(self, endpoints: set[str] | None = None) -> list[AlertRule]:
        """Every enabled rule, or those watching one of `endpoints`."""
        rows = self._engine.query(f"SELECT {_COLUMNS} FROM {self._table} WHERE enabled ORDER BY created_at")
        return [r for r in map(_rule, rows) if endpoints is None or r.endpoint_name in endpoints]
