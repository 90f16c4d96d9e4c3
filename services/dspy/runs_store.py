"""The `dspy_runs` table, and what a run writes back: pair quality scores, example effectiveness,
and the link from a template version to the run that made it."""

from __future__ import annotations

import json
from typing import Any

from data_access.sql.engine import Row
from services.core.workbench import Workbench
from services.dspy.records import Decision, DspyRun, RunResult, RunStatus

_COLUMNS = (
    "run_id, training_sheet_id, template_id, optimizer_type, metric_function, config, status, best_metric_value, "
    "baseline_metric_value, results, mlflow_run_id, job_id, created_by, started_at, completed_at, model, error, decision, "
    "decided_by, decided_at, accepted_template_id"
)
# Pair ids and scores staged from two parallel arrays: one set-based statement for any number.
_SCORES = "(SELECT col AS pair_id, element_at(:scores, pos + 1) AS score FROM (SELECT posexplode(:pair_ids)) AS exploded)"


def _to_run(row: Row) -> DspyRun:
    results = json.loads(row["results"]) if row["results"] else None
    return DspyRun(
        run_id=row["run_id"], training_sheet_id=row["training_sheet_id"] or "", template_id=row["template_id"] or "",
        optimizer=row["optimizer_type"] or "", metric=row["metric_function"] or "", status=RunStatus(row["status"]),
        model=row["model"] or "", config=json.loads(row["config"] or "{}"), baseline_score=row["baseline_metric_value"],
        optimized_score=row["best_metric_value"], result=RunResult.from_json(results) if results else None,
        mlflow_run_id=row["mlflow_run_id"], job_id=row["job_id"], error=row["error"],
        decision=Decision(row["decision"]) if row["decision"] else None, decided_by=row["decided_by"], decided_at=row["decided_at"],
        accepted_template_id=row["accepted_template_id"], created_by=row["created_by"] or "",
        started_at=row["started_at"], completed_at=row["completed_at"],
    )


class DspyRunsStore:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._runs = workbench.table("dspy_runs")
        self._pairs = workbench.table("qa_pairs")
        self._examples = workbench.table("example_store")
        self._templates = workbench.table("templates")

    # -- runs ------------------------------------------------------------------------------
    def start(self, run: DspyRun) -> None:
        self._engine.execute(
            f"INSERT INTO {self._runs} (run_id, training_sheet_id, template_id, optimizer_type, metric_function, config, status, "
            "model, job_id, created_by, started_at) VALUES (:run_id, :training_sheet_id, :template_id, :optimizer, :metric, :config, "
            ":status, :model, :job_id, :created_by, current_timestamp())",
            {"run_id": run.run_id, "training_sheet_id": run.training_sheet_id, "template_id": run.template_id,
             "optimizer": run.optimizer, "metric": run.metric, "config": json.dumps(run.config), "status": run.status.value,
             "model": run.model, "job_id": run.job_id, "created_by": run.created_by},
        )

    def set_mlflow_run(self, run_id: str, mlflow_run_id: str) -> None:
        self._engine.execute(f"UPDATE {self._runs} SET mlflow_run_id = :mlflow_run_id WHERE run_id = :run_id",
                             {"run_id": run_id, "mlflow_run_id": mlflow_run_id})

    def finish(self, run_id: str, baseline: float, optimized: float, result: RunResult) -> None:
        self._engine.execute(
            f"UPDATE {self._runs} SET status = :status, baseline_metric_value = :baseline, best_metric_value = :optimized, "
            "results = :results, completed_at = current_timestamp() WHERE run_id = :run_id",
            {"run_id": run_id, "status": RunStatus.SUCCEEDED.value, "baseline": baseline, "optimized": optimized,
             "results": json.dumps(result.to_json())},
        )

    def end(self, run_id: str, status: RunStatus, error: str | None) -> None:
        self._engine.execute(
            f"UPDATE {self._runs} SET status = :status, error = :error, completed_at = current_timestamp() WHERE run_id = :run_id",
            {"run_id": run_id, "status": status.value, "error": error},
        )

    def decide(self, run_id: str, decision: Decision, user: str, template_id: str | None) -> bool:
        """Records the decision once: False when someone decided first."""
        return self._engine.execute(
            f"UPDATE {self._runs} SET decision = :decision, decided_by = :user, decided_at = current_timestamp(), "
            "accepted_template_id = :template_id WHERE run_id = :run_id AND decision IS NULL AND status = :succeeded",
            {"run_id": run_id, "decision": decision.value, "user": user, "template_id": template_id,
             "succeeded": RunStatus.SUCCEEDED.value},
        ) > 0

    def get(self, run_id: str) -> DspyRun | None:
        row = self._engine.query_one(f"SELECT {_COLUMNS} FROM {self._runs} WHERE run_id = :run_id", {"run_id": run_id})
        return _to_run(row) if row else None

    def by_job(self, job_id: str) -> DspyRun | None:
        row = self._engine.query_one(f"SELECT {_COLUMNS} FROM {self._runs} WHERE job_id = :job_id ORDER BY started_at DESC LIMIT 1",
                                     {"job_id": job_id})
        return _to_run(row) if row else None

    def recent(self, limit: int) -> list[DspyRun]:
        rows = self._engine.query(f"SELECT {_COLUMNS} FROM {self._runs} ORDER BY started_at DESC LIMIT :limit", {"limit": limit})
        return [_to_run(r) for r in rows]

    # -- what flows back -------------------------------------------------------------------
    def score_pairs(self, scores: dict[str, float]) -> None:
        """The optimized program's score on each evaluation pair becomes the pair's quality score."""
        if scores:
            self._engine.execute(
                f"MERGE INTO {self._pairs} AS t USING {_SCORES} AS s ON t.id = s.pair_id "
                "WHEN MATCHED THEN UPDATE SET quality_score = s.score",
                self._staged(scores),
            )

    def rate_examples(self, effect: dict[str, float]) -> None:
        """Example Store examples made from the demos' pairs get the run's measured effect."""
        if effect:
            self._engine.execute(
                f"MERGE INTO {self._examples} AS t USING {_SCORES} AS s ON t.source_qa_pair_id = s.pair_id "
                "WHEN MATCHED THEN UPDATE SET effectiveness_score = s.score, updated_at = current_timestamp()",
                self._staged(effect),
            )

    def link_template(self, template_id: str, run_id: str) -> None:
        self._engine.execute(f"UPDATE {self._templates} SET dspy_run_id = :run_id WHERE id = :template_id",
                             {"run_id": run_id, "template_id": template_id})

    def template_run(self, template_id: str) -> str | None:
        return self._engine.scalar(f"SELECT dspy_run_id FROM {self._templates} WHERE id = :template_id", {"template_id": template_id})

    @staticmethod
    def _staged(values: dict[str, float]) -> dict[str, Any]:
        ids = sorted(values)
        return {"pair_ids": ids, "scores": [float(values[i]) for i in ids]}
