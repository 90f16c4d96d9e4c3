"""The retrain tables (`retrain_rules`, `retrains`) and the one query that finds what waits.

A pair waits for a model when it was made from feedback (`qa_pairs.feedback_id`), passes the
training gate (labeled, training allowed and not prohibited, its source's current tags
permitting training, as the export decides), belongs to a Training Sheet of the
model's latest run, is in none of the model's succeeded runs, and is not held by a retrain still
under way (one exporting, or whose training run has not failed).
"""

from __future__ import annotations

from data_access.sql.engine import Row
from services.core.domain.governance import Use
from services.core.governance import usable_for_sql
from services.core.workbench import Workbench
from services.improve.retrain_records import Retrain, RetrainRule, RetrainStatus, WaitingModel
from services.train.records import RunStatus

MAX_EXPORTING = 100  # retrains under way at once; one per model at most in practice
_ENDED_RUN = (RunStatus.FAILED.value, RunStatus.CANCELLED.value, RunStatus.INTERRUPTED.value)
_RULE_COLUMNS = (
    "model_name, min_pairs, enabled, created_by, created_at, updated_by, updated_at, last_checked_at, last_waiting_pairs, "
    "last_check_note, last_run_started_at, last_retrain_id"
)
_RETRAIN_COLUMNS = (
    "r.id, r.model_name, r.previous_lineage_id, r.feedback_pair_ids, r.feedback_ids, r.export_id, r.lineage_id, r.job_id, "
    "r.status, r.error, r.started_by, r.started_by_rule, r.started_at, l.status AS run_status, l.model_version"
)


class RetrainStore:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._lineage = workbench.table("model_training_lineage")
        self._pairs = workbench.table("qa_pairs")
        self.rules_table = workbench.table("retrain_rules")
        self.retrains_table = workbench.table("retrains")

    # -- what waits ------------------------------------------------------------------------
    def trained_sheet_ids(self) -> list[str]:
        """The Training Sheets of every registered model's runs."""
        rows = self._engine.query(
            "SELECT DISTINCT training_sheet_id FROM (SELECT explode(coalesce(training_sheet_ids, array(training_sheet_id))) "
            f"AS training_sheet_id FROM {self._lineage} WHERE status = :succeeded AND model_name IS NOT NULL) t ORDER BY training_sheet_id",
            {"succeeded": RunStatus.SUCCEEDED.value},
        )
        return [r["training_sheet_id"] for r in rows]

    def waiting(self, permitted_sheets: list[str], model_name: str | None = None) -> list[WaitingModel]:
        """Per model (all, or one), the approved feedback-derived pairs it has not learned from, of
        the Training Sheets whose source permits training now (`permitted_sheets`)."""
        rows = self._engine.query(
            "WITH latest AS ("
            "  SELECT id, model_name, model_version, training_sheet_ids, training_sheet_id, "
            "  row_number() OVER (PARTITION BY model_name ORDER BY trained_at DESC, id) AS recency "
            f"  FROM {self._lineage} WHERE status = :succeeded AND model_name IS NOT NULL "
            "  AND (:model_name IS NULL OR model_name = :model_name)), "
            "sheets AS (SELECT id AS lineage_id, model_name, model_version, "
            "  explode(coalesce(training_sheet_ids, array(training_sheet_id))) AS training_sheet_id FROM latest WHERE recency = 1), "
            "trained AS (SELECT model_name, explode(qa_pair_ids) AS pair_id "
            f"  FROM {self._lineage} WHERE status = :succeeded AND model_name IS NOT NULL), "
            "held AS (SELECT r.model_name, explode(r.feedback_pair_ids) AS pair_id "
            f"  FROM {self.retrains_table} r LEFT JOIN {self._lineage} l ON l.id = r.lineage_id "
            "  WHERE r.status <> :failed AND (l.status IS NULL OR NOT array_contains(:ended, l.status))) "
            "SELECT s.model_name, s.model_version, s.lineage_id, q.id AS pair_id, q.feedback_id "
            f"FROM sheets s JOIN {self._pairs} q ON q.training_sheet_id = s.training_sheet_id "
            f"WHERE q.feedback_id IS NOT NULL AND {usable_for_sql('q')} AND array_contains(:permitted, s.training_sheet_id) "
            "AND NOT EXISTS (SELECT 1 FROM trained t WHERE t.model_name = s.model_name AND t.pair_id = q.id) "
            "AND NOT EXISTS (SELECT 1 FROM held h WHERE h.model_name = s.model_name AND h.pair_id = q.id) "
            "ORDER BY s.model_name, q.id",
            {"succeeded": RunStatus.SUCCEEDED.value, "model_name": model_name, "use": Use.TRAINING.value, "permitted": permitted_sheets,
             "failed": RetrainStatus.FAILED.value, "ended": list(_ENDED_RUN)},
        )
        grouped: dict[str, list[Row]] = {}
        for row in rows:
            grouped.setdefault(row["model_name"], []).append(row)
        return [
            WaitingModel(name, found[0]["model_version"], found[0]["lineage_id"], tuple(r["pair_id"] for r in found),
                         tuple(dict.fromkeys(r["feedback_id"] for r in found)))
            for name, found in grouped.items()
        ]

    def latest_run_id(self, model_name: str) -> str | None:
        """The succeeded run that registered the model's latest version."""
        row = self._engine.query_one(
            f"SELECT id FROM {self._lineage} WHERE model_name = :model_name AND status = :succeeded "
            "ORDER BY trained_at DESC, id LIMIT 1",
            {"model_name": model_name, "succeeded": RunStatus.SUCCEEDED.value},
        )
        return row["id"] if row else None

    # -- retrains --------------------------------------------------------------------------
    def claim(self, retrain: Retrain) -> bool:
        """Record a retrain unless one with its id (the same model and pairs) exists: False then."""
        written = self._engine.execute(
            f"INSERT INTO {self.retrains_table} (id, model_name, previous_lineage_id, feedback_pair_ids, feedback_ids, export_id, "
            "lineage_id, job_id, status, error, started_by, started_by_rule, started_at) "
            "SELECT :id, :model_name, :previous, :pair_ids, :feedback_ids, :export_id, NULL, :job_id, :status, NULL, :by, :by_rule, "
            f"current_timestamp() WHERE NOT EXISTS (SELECT 1 FROM {self.retrains_table} WHERE id = :id)",
            {"id": retrain.id, "model_name": retrain.model_name, "previous": retrain.previous_lineage_id,
             "pair_ids": list(retrain.feedback_pair_ids), "feedback_ids": list(retrain.feedback_ids), "export_id": retrain.export_id,
             "job_id": retrain.job_id, "status": RetrainStatus.EXPORTING.value, "by": retrain.started_by, "by_rule": retrain.started_by_rule},
        )
        return written > 0

    def set_training(self, retrain_id: str, lineage_id: str) -> None:
        self._engine.execute(
            f"UPDATE {self.retrains_table} SET status = :status, lineage_id = :lineage_id, error = NULL WHERE id = :id",
            {"id": retrain_id, "lineage_id": lineage_id, "status": RetrainStatus.TRAINING.value},
        )

    def set_failed(self, retrain_id: str, error: str) -> None:
        self._engine.execute(
            f"UPDATE {self.retrains_table} SET status = :status, error = :error WHERE id = :id",
            {"id": retrain_id, "error": error, "status": RetrainStatus.FAILED.value},
        )

    def set_exporting(self, retrain_id: str, job_id: str | None = None) -> None:
        """A retried retrain: under way again (under a new job, when given)."""
        self._engine.execute(
            f"UPDATE {self.retrains_table} SET status = :status, error = NULL, job_id = coalesce(:job_id, job_id) WHERE id = :id",
            {"id": retrain_id, "status": RetrainStatus.EXPORTING.value, "job_id": job_id},
        )

    def get(self, retrain_id: str) -> Retrain | None:
        rows = self._retrains("r.id = :id", {"id": retrain_id}, 1)
        return rows[0] if rows else None

    def exporting(self) -> list[Retrain]:
        return self._retrains("r.status = :status", {"status": RetrainStatus.EXPORTING.value}, MAX_EXPORTING)

    def recent(self, limit: int, model_name: str | None = None) -> list[Retrain]:
        return self._retrains("(:model_name IS NULL OR r.model_name = :model_name)", {"model_name": model_name}, limit)

    def _retrains(self, where: str, params: dict[str, object], limit: int) -> list[Retrain]:
        rows = self._engine.query(
            f"SELECT {_RETRAIN_COLUMNS} FROM {self.retrains_table} r LEFT JOIN {self._lineage} l ON l.id = r.lineage_id "
            f"WHERE {where} ORDER BY r.started_at DESC, r.id LIMIT :limit",
            {**params, "limit": limit},
        )
        return [_retrain(r) for r in rows]

    # -- rules -----------------------------------------------------------------------------
    def save_rule(self, model_name: str, min_pairs: int, enabled: bool, by: str) -> None:
        """Create the model's rule or change its threshold and switch (one rule per model)."""
        self._engine.execute(
            f"MERGE INTO {self.rules_table} t USING (SELECT :model_name AS model_name) s ON t.model_name = s.model_name "
            "WHEN MATCHED THEN UPDATE SET min_pairs = :min_pairs, enabled = :enabled, updated_by = :by, updated_at = current_timestamp() "
            "WHEN NOT MATCHED THEN INSERT (model_name, min_pairs, enabled, created_by, created_at) "
            "VALUES (:model_name, :min_pairs, :enabled, :by, current_timestamp())",
            {"model_name": model_name, "min_pairs": min_pairs, "enabled": enabled, "by": by},
        )

    def rules(self, enabled_only: bool = False) -> list[RetrainRule]:
        rows = self._engine.query(
            f"SELECT {_RULE_COLUMNS} FROM {self.rules_table} WHERE (NOT :enabled_only OR enabled) ORDER BY model_name",
            {"enabled_only": enabled_only},
        )
        return [_rule(r) for r in rows]

    def record_check(self, model_name: str, waiting_pairs: int, note: str, retrain_id: str | None) -> None:
        """What a check of the rule found, and the retrain it started (if it did)."""
        self._engine.execute(
            f"UPDATE {self.rules_table} SET last_checked_at = current_timestamp(), last_waiting_pairs = :waiting, "
            "last_check_note = :note, last_retrain_id = coalesce(:retrain_id, last_retrain_id), "
            "last_run_started_at = CASE WHEN :retrain_id IS NULL THEN last_run_started_at ELSE current_timestamp() END "
            "WHERE model_name = :model_name",
            {"model_name": model_name, "waiting": waiting_pairs, "note": note, "retrain_id": retrain_id},
        )


def _rule(row: Row) -> RetrainRule:
    return RetrainRule(
        row["model_name"], int(row["min_pairs"] or 0), bool(row["enabled"]), row["created_by"] or "", row["created_at"],
        row["updated_by"], row["updated_at"], row["last_checked_at"], row["last_waiting_pairs"], row["last_check_note"],
        row["last_run_started_at"], row["last_retrain_id"],
    )


def _retrain(row: Row) -> Retrain:
    return Retrain(
        id=row["id"], model_name=row["model_name"], previous_lineage_id=row["previous_lineage_id"],
        feedback_pair_ids=tuple(row["feedback_pair_ids"] or ()), feedback_ids=tuple(row["feedback_ids"] or ()),
        export_id=row["export_id"], lineage_id=row["lineage_id"], job_id=row["job_id"], status=RetrainStatus(row["status"]),
        error=row["error"], started_by=row["started_by"] or "", started_by_rule=bool(row["started_by_rule"]),
        started_at=row["started_at"], run_status=row["run_status"], model_version=row["model_version"],
    )
