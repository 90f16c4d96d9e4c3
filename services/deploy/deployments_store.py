"""The deployments table: every endpoint deployed, who deployed which version when, its status."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.core.errors import ValidationError
from services.core.workbench import Workbench
from services.deploy.records import Deployment, DeploymentStatus, PiiAction, Target

_COLUMNS = (
    "id, endpoint_name, model_name, model_version, model_id, target, status, lineage_id, training_sheet_id, template_id, "
    "max_tokens, schema_guardrail, mlflow_run_id, created_by, created_at, error"
)
_SELECTED = f"{_COLUMNS}, config, low_confidence_threshold"  # a local endpoint's PII guardrail setting lives in its config


class DeploymentsStore:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._table = workbench.table("deployments")

    def insert(self, deployment: Deployment, config: Mapping[str, object] | None = None) -> None:
        """A deployment of an endpoint. A ready one replaces the endpoint's earlier deployments
        (ready or failed) in the same transaction; a failed attempt replaces nothing. `config` is
        what the target needs to say about it (a bundle's path and sha256, an endpoint's split);
        a local endpoint's is its guardrails: max tokens, schema check, PII flag or block."""
        now = datetime.now(UTC)
        with self._engine.transaction():
            if deployment.status is DeploymentStatus.READY:
                self._engine.execute(
                    f"UPDATE {self._table} SET status = :replaced, updated_at = :now, row_version = row_version + 1 "
                    "WHERE endpoint_name = :endpoint AND target = :target AND status <> :replaced",
                    {"replaced": DeploymentStatus.REPLACED.value, "now": now, "endpoint": deployment.endpoint_name,
                     "target": str(deployment.target)},
                )
            self._engine.execute(
                f"INSERT INTO {self._table} ({_COLUMNS}, config, updated_at, row_version) VALUES "
                "(:id, :endpoint_name, :model_name, :model_version, :model_id, :target, :status, :lineage_id, :training_sheet_id, "
                ":template_id, :max_tokens, :schema_guardrail, :mlflow_run_id, :created_by, :created_at, :error, :config, :created_at, 1)",
                {
                    "id": deployment.id, "endpoint_name": deployment.endpoint_name, "model_name": deployment.model_name,
                    "model_version": deployment.model_version, "model_id": deployment.model_id, "target": str(deployment.target),
                    "status": deployment.status.value, "lineage_id": deployment.lineage_id, "training_sheet_id": deployment.training_sheet_id,
                    "template_id": deployment.template_id, "max_tokens": deployment.max_tokens, "schema_guardrail": deployment.schema_guardrail,
                    "mlflow_run_id": deployment.mlflow_run_id, "created_by": deployment.created_by, "created_at": deployment.created_at or now,
                    "error": deployment.error,
                    "config": json.dumps(
                        dict(config) if config is not None
                        else {"max_tokens": deployment.max_tokens, "schema_guardrail": deployment.schema_guardrail,
                              "pii_guardrail": deployment.pii_action.value}
                    ),
                },
            )

    def current(self, endpoint_name: str, target: Target = Target.LOCAL) -> Deployment | None:
        """The deployment an endpoint serves (its ready one), else its latest failed attempt."""
        row = self._engine.query_one(
            f"SELECT {_SELECTED} FROM {self._table} WHERE endpoint_name = :endpoint AND target = :target AND status <> :replaced "
            "ORDER BY CASE WHEN status = :ready THEN 0 ELSE 1 END, created_at DESC LIMIT 1",
            {"endpoint": endpoint_name, "target": target.value, "replaced": DeploymentStatus.REPLACED.value,
             "ready": DeploymentStatus.READY.value},
        )
        return None if row is None else _deployment(row)

    def endpoints(self, target: Target = Target.LOCAL) -> list[Deployment]:
        """Every endpoint's ready deployment and the failed attempts since, by name."""
        return [deployment for deployment, _ in self.endpoints_with_config(target)]

    def endpoints_with_config(self, target: Target) -> list[tuple[Deployment, dict[str, Any]]]:
        """`endpoints(target)`, each with the config it was recorded with."""
        rows = self._engine.query(
            f"SELECT {_SELECTED} FROM {self._table} WHERE target = :target AND status <> :replaced "
            "ORDER BY endpoint_name, created_at DESC",
            {"target": target.value, "replaced": DeploymentStatus.REPLACED.value},
        )
        return [(_deployment(r), json.loads(r["config"] or "{}")) for r in rows]

    def set_low_confidence_threshold(self, endpoint_name: str, threshold: float | None, target: Target = Target.LOCAL) -> None:
        """Below this confidence an answer of the endpoint's serving deployment enters IMPROVE's
        feedback queue by itself; None switches that off."""
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValidationError(f"A low-confidence threshold is a confidence between 0 and 1, not {threshold}.")
        self._engine.execute(
            f"UPDATE {self._table} SET low_confidence_threshold = :threshold, row_version = row_version + 1 "
            "WHERE endpoint_name = :endpoint AND target = :target AND status = :ready",
            {"threshold": threshold, "endpoint": endpoint_name, "target": target.value, "ready": DeploymentStatus.READY.value},
        )

    def history(self, limit: int = 50) -> list[Deployment]:
        rows = self._engine.query(f"SELECT {_SELECTED} FROM {self._table} ORDER BY created_at DESC LIMIT :limit", {"limit": limit})
        return [_deployment(r) for r in rows]


def _deployment(row: dict[str, Any]) -> Deployment:
    config = json.loads(row["config"] or "{}")
    return Deployment(
        id=row["id"], endpoint_name=row["endpoint_name"], model_name=row["model_name"], model_version=str(row["model_version"]),
        model_id=row["model_id"] or f"{row['model_name']}/{row['model_version']}", target=row["target"],
        status=DeploymentStatus(row["status"]), lineage_id=row["lineage_id"], training_sheet_id=row["training_sheet_id"],
        template_id=row["template_id"], max_tokens=int(row["max_tokens"] or 0), schema_guardrail=bool(row["schema_guardrail"]),
        mlflow_run_id=row["mlflow_run_id"], created_by=row["created_by"], created_at=row["created_at"], error=row["error"],
        pii_action=PiiAction(config.get("pii_guardrail", PiiAction.FLAG.value)),
        low_confidence_threshold=row.get("low_confidence_threshold"),
    )
