"""Live counts of what exists at each lifecycle stage, for the home page breadcrumb."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.workbench import Workbench


@dataclass(frozen=True)
class StageCount:
    stage: str
    count: int
    noun: str


STAGES = ("DATA", "GENERATE", "LABEL", "TRAIN", "DEPLOY", "MONITOR", "IMPROVE")


def pipeline_counts(workbench: Workbench) -> list[StageCount]:
    t = workbench.table
    row = workbench.backend.engine.query_one(
        "SELECT "
        f"(SELECT count(*) FROM {t('sheets')}) AS sheets, "
        f"(SELECT count(*) FROM {t('training_sheets')}) AS training_sheets, "
        f"(SELECT count(*) FROM {t('canonical_labels')}) AS canonical_labels, "
        f"(SELECT count(*) FROM {t('model_training_lineage')}) AS models, "
        f"(SELECT count(*) FROM {t('deployments')}) AS deployments, "
        f"(SELECT count(*) FROM {t('inference_log')}) AS predictions, "
        f"(SELECT count(*) FROM {t('feedback')}) AS feedback"
    ) or {}
    return [
        StageCount("DATA", int(row.get("sheets", 0)), "sheets"),
        StageCount("GENERATE", int(row.get("training_sheets", 0)), "training sheets"),
        StageCount("LABEL", int(row.get("canonical_labels", 0)), "canonical labels"),
        StageCount("TRAIN", int(row.get("models", 0)), "training runs"),
        StageCount("DEPLOY", int(row.get("deployments", 0)), "deployments"),
        StageCount("MONITOR", int(row.get("predictions", 0)), "logged predictions"),
        StageCount("IMPROVE", int(row.get("feedback", 0)), "feedback items"),
    ]
