"""The tables of a training run: `model_training_lineage` (one row per run), `training_steps`
(the loss per step, appended while it trains) and `model_evaluations` (base and fine-tuned)."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import pandas as pd

from data_access.sql.engine import Row, SqlEngine
from services.core.workbench import Workbench
from services.train.evaluation import Comparison, ModelScore
from services.train.records import LossPoint, RunStatus, TrainingRun

RUN_COLUMNS = (
    "id, status, job_id, training_sheet_ids, training_sheet_id, export_id, training_sheet_version, base_model, "
    "training_config, train_pair_count, val_pair_count, eval_pair_count, model_name, model_version, model_id, metrics, "
    "mlflow_experiment_id, mlflow_run_id, databricks_run_id, error, created_by, started_at, completed_at, trained_at"
)


def _to_run(row: Row) -> TrainingRun:
    sheets = tuple(row["training_sheet_ids"] or ()) or ((row["training_sheet_id"],) if row["training_sheet_id"] else ())
    return TrainingRun(
        id=row["id"], status=RunStatus(row["status"]), job_id=row["job_id"], training_sheet_ids=sheets,
        export_id=row["export_id"], export_version=row["training_sheet_version"], base_model=row["base_model"] or "",
        config=json.loads(row["training_config"] or "{}"), train_pair_count=int(row["train_pair_count"] or 0),
        val_pair_count=int(row["val_pair_count"] or 0), eval_pair_count=row["eval_pair_count"], model_name=row["model_name"],
        model_version=row["model_version"], model_id=row["model_id"], metrics=json.loads(row["metrics"] or "{}"),
        mlflow_experiment_id=row["mlflow_experiment_id"], mlflow_run_id=row["mlflow_run_id"],
        databricks_run_id=row["databricks_run_id"], error=row["error"], created_by=row["created_by"] or "",
        started_at=row["started_at"], completed_at=row["completed_at"], trained_at=row["trained_at"],
    )


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz=UTC)


class TrainingRunsStore:
    def __init__(self, workbench: Workbench) -> None:
        self._engine: SqlEngine = workbench.backend.engine
        self.lineage = workbench.table("model_training_lineage")
        self.steps_table = workbench.table("training_steps")
        self.evaluations = workbench.table("model_evaluations")

    # -- writing ---------------------------------------------------------------------------
    def insert(self, run: TrainingRun, train_pair_ids: tuple[str, ...], val_pair_ids: tuple[str, ...]) -> None:
        row = {
            "id": run.id, "status": str(run.status), "job_id": run.job_id, "training_sheet_id": run.training_sheet_ids[0],
            "training_sheet_ids": [list(run.training_sheet_ids)], "export_id": run.export_id,
            "training_sheet_version": run.export_version, "base_model": run.base_model,
            "training_config": json.dumps(run.config), "qa_pair_ids": [[*train_pair_ids, *val_pair_ids]],
            "train_pair_ids": [list(train_pair_ids)], "val_pair_ids": [list(val_pair_ids)],
            "train_pair_count": len(train_pair_ids), "val_pair_count": len(val_pair_ids), "created_by": run.created_by,
        }
        self._engine.insert_rows(self.lineage, pd.DataFrame({k: v if isinstance(v, list) else [v] for k, v in row.items()}))

    def restart(self, run_id: str) -> None:
        """A new attempt of the run: its earlier steps and evaluations go, its outcome is cleared."""
        with self._engine.transaction():
            self._engine.execute(f"DELETE FROM {self.steps_table} WHERE lineage_id = :id", {"id": run_id})
            self._engine.execute(f"DELETE FROM {self.evaluations} WHERE lineage_id = :id", {"id": run_id})
            self._engine.execute(
                f"UPDATE {self.lineage} SET status = :status, error = NULL, metrics = NULL, model_name = NULL, "
                "model_version = NULL, model_id = NULL, mlflow_run_id = NULL, mlflow_experiment_id = NULL, "
                "databricks_run_id = NULL, trained_at = NULL, completed_at = NULL, started_at = current_timestamp() "
                "WHERE id = :id",
                {"id": run_id, "status": str(RunStatus.LOADING)},
            )

    def set_status(self, run_id: str, status: RunStatus) -> None:
        self._engine.execute(f"UPDATE {self.lineage} SET status = :status WHERE id = :id", {"id": run_id, "status": str(status)})

    def set_tracking(self, run_id: str, experiment_id: str, mlflow_run_id: str, eval_pair_ids: list[str]) -> None:
        self._engine.execute(
            f"UPDATE {self.lineage} SET mlflow_experiment_id = :experiment_id, mlflow_run_id = :mlflow_run_id, "
            "eval_pair_ids = :eval_pair_ids, eval_pair_count = :eval_pair_count WHERE id = :id",
            {"id": run_id, "experiment_id": experiment_id, "mlflow_run_id": mlflow_run_id,
             "eval_pair_ids": eval_pair_ids, "eval_pair_count": len(eval_pair_ids)},
        )

    def set_databricks_run(self, run_id: str, databricks_run_id: str) -> None:
        self._engine.execute(
            f"UPDATE {self.lineage} SET databricks_run_id = :databricks_run_id WHERE id = :id",
            {"id": run_id, "databricks_run_id": databricks_run_id},
        )

    def record_step(self, run_id: str, point: LossPoint) -> None:
        self._engine.execute(
            f"INSERT INTO {self.steps_table} (lineage_id, step, total_steps, loss, tokens, elapsed_s, recorded_at) "
            "VALUES (:id, :step, :total_steps, :loss, :tokens, :elapsed_s, current_timestamp())",
            {"id": run_id, "step": point.step, "total_steps": point.total_steps, "loss": point.loss,
             "tokens": point.tokens, "elapsed_s": point.elapsed_s},
        )

    def finish(self, run_id: str, status: RunStatus, error: str | None = None, metrics: dict[str, Any] | None = None) -> None:
        """A run that ended without a model (failed, cancelled): no model name or version is recorded."""
        self._engine.execute(
            f"UPDATE {self.lineage} SET status = :status, error = :error, metrics = :metrics, "
            "completed_at = current_timestamp() WHERE id = :id",
            {"id": run_id, "status": str(status), "error": error, "metrics": json.dumps(metrics) if metrics else None},
        )

    def succeed(self, run: TrainingRun, model_name: str, model_version: str, metrics: dict[str, Any], comparison: Comparison | None) -> None:
        """The model is registered: the run and its evaluations are recorded together."""
        model_id = f"{model_name}/{model_version}"
        with self._engine.transaction():
            self._engine.execute(
                f"UPDATE {self.lineage} SET status = :status, error = NULL, model_name = :model_name, "
                "model_version = :model_version, model_id = :model_id, metrics = :metrics, "
                "trained_at = current_timestamp(), completed_at = current_timestamp() WHERE id = :id",
                {"id": run.id, "status": str(RunStatus.SUCCEEDED), "model_name": model_name, "model_version": model_version,
                 "model_id": model_id, "metrics": json.dumps(metrics)},
            )
            if comparison is not None:
                frame = pd.DataFrame(
                    [
                        self._evaluation_row(run, comparison.base, run.base_model, None, None),
                        self._evaluation_row(run, comparison.fine_tuned, model_id, model_name, model_version),
                    ]
                )
                self._engine.insert_rows(self.evaluations, frame)

    @staticmethod
    def _evaluation_row(run: TrainingRun, score: ModelScore, model_id: str, name: str | None, version: str | None) -> dict[str, Any]:
        return {
            "id": f"{run.id}:{score.evaluated_model}", "lineage_id": run.id, "model_id": model_id, "model_name": name,
            "model_version": version, "evaluated_model": score.evaluated_model, "accuracy": score.accuracy,
            "f1_score": score.f1_score, "valid_output_rate": score.valid_output_rate, "evaluation_pair_count": score.pair_count,
            "field_metrics": json.dumps([f.__dict__ for f in score.fields]),
            "answers": json.dumps([a.__dict__ for a in score.answers], ensure_ascii=False),
            "mlflow_run_id": run.mlflow_run_id, "evaluated_at": _now(),
        }

    # -- reading ---------------------------------------------------------------------------
    def get(self, run_id: str) -> TrainingRun | None:
        row = self._engine.query_one(f"SELECT {RUN_COLUMNS} FROM {self.lineage} WHERE id = :id", {"id": run_id})
        return _to_run(row) if row else None

    def for_model(self, model_name: str, model_version: str) -> TrainingRun | None:
        """The run that registered this model version (DEPLOY's lineage ids)."""
        row = self._engine.query_one(
            f"SELECT {RUN_COLUMNS} FROM {self.lineage} WHERE model_name = :model_name AND model_version = :model_version",
            {"model_name": model_name, "model_version": model_version},
        )
        return _to_run(row) if row else None

    def recent(self, limit: int) -> list[TrainingRun]:
        rows = self._engine.query(
            f"SELECT {RUN_COLUMNS} FROM {self.lineage} ORDER BY coalesce(started_at, completed_at) DESC NULLS FIRST, id LIMIT :limit",
            {"limit": limit},
        )
        return [_to_run(r) for r in rows]

    def pair_ids(self, run_id: str) -> tuple[list[str], list[str]]:
        row = self._engine.query_one(f"SELECT train_pair_ids, val_pair_ids FROM {self.lineage} WHERE id = :id", {"id": run_id})
        return (list(row["train_pair_ids"] or ()), list(row["val_pair_ids"] or ())) if row else ([], [])

    def steps(self, run_id: str) -> list[LossPoint]:
        rows = self._engine.query(
            f"SELECT step, total_steps, loss, tokens, elapsed_s FROM {self.steps_table} WHERE lineage_id = :id ORDER BY step",
            {"id": run_id},
        )
        return [LossPoint(r["step"], r["total_steps"] or 0, float(r["loss"]), int(r["tokens"] or 0), float(r["elapsed_s"] or 0)) for r in rows]

    def evaluation_rows(self, run_id: str) -> list[Row]:
        return self._engine.query(
            f"SELECT evaluated_model, model_id, accuracy, f1_score, valid_output_rate, evaluation_pair_count, field_metrics, answers "
            f"FROM {self.evaluations} WHERE lineage_id = :id ORDER BY evaluated_model",
            {"id": run_id},
        )
