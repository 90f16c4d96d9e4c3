"""The registered model versions DEPLOY offers, each with its Training Sheet, training date,
base model and evaluation (the fine-tuned model's scores beside the base model's), as TRAIN
recorded them in model_training_lineage and model_evaluations."""

from __future__ import annotations

from typing import Any

from services.core.errors import NotFoundError
from services.core.workbench import Workbench
from services.deploy.records import DeployableModel

MAX_LISTED_VERSIONS = 200  # the picker's list; older versions stay in the registry and lineage

_SELECT = (
    "SELECT mtl.id AS lineage_id, mtl.model_id, mtl.model_name, mtl.model_version, mtl.trained_at, mtl.mlflow_run_id, "
    "coalesce(mtl.base_model, get_json_object(mtl.training_config, '$.base_model')) AS base_model, "
    "mtl.training_sheet_id, ts.name AS training_sheet_name, ts.template_id, "
    "ev.accuracy, ev.f1_score, ev.valid_output_rate, ev.evaluation_pair_count, base.accuracy AS base_accuracy "
    "FROM {lineage} mtl "
    "LEFT JOIN {sheets} ts ON ts.id = mtl.training_sheet_id "
    "LEFT JOIN {evaluations} ev ON ev.lineage_id = mtl.id AND ev.evaluated_model = 'fine_tuned' "
    "LEFT JOIN {evaluations} base ON base.lineage_id = mtl.id AND base.evaluated_model = 'base' "
    "WHERE mtl.model_id IS NOT NULL AND mtl.model_version IS NOT NULL "
)


class DeployableModels:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._select = _SELECT.format(
            lineage=workbench.table("model_training_lineage"), sheets=workbench.table("training_sheets"),
            evaluations=workbench.table("model_evaluations"),
        )

    def list(self) -> list[DeployableModel]:
        """Newest first."""
        rows = self._engine.query(self._select + "ORDER BY mtl.trained_at DESC NULLS LAST LIMIT :limit", {"limit": MAX_LISTED_VERSIONS})
        return [_model(r) for r in rows]

    def get(self, model_id: str) -> DeployableModel:
        row = self._engine.query_one(self._select + "AND mtl.model_id = :model_id", {"model_id": model_id})
        if row is None:
            raise NotFoundError(f"No registered model {model_id} in the training lineage; train one on the TRAIN page.")
        return _model(row)


def _model(row: dict[str, Any]) -> DeployableModel:
    return DeployableModel(
        model_id=row["model_id"], model_name=row["model_name"], model_version=str(row["model_version"]), lineage_id=row["lineage_id"],
        training_sheet_id=row["training_sheet_id"], training_sheet_name=row["training_sheet_name"], template_id=row["template_id"],
        trained_at=row["trained_at"], base_model=row["base_model"], mlflow_run_id=row["mlflow_run_id"], accuracy=row["accuracy"],
        f1_score=row["f1_score"], valid_output_rate=row["valid_output_rate"],
        evaluation_pair_count=None if row["evaluation_pair_count"] is None else int(row["evaluation_pair_count"]),
        base_accuracy=row["base_accuracy"],
    )
