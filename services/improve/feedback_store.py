"""The feedback table: one row per thing said about a logged prediction, linked to the
inference-log row, its endpoint and the model version that answered."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from services.core.errors import NotFoundError, StaleWriteError
from services.core.workbench import Workbench
from services.improve.records import Feedback, FeedbackKind, FeedbackOrigin, FeedbackStatus, NewFeedback

FEEDBACK_COLUMNS = (  # as selected FROM the feedback table aliased f, for feedback_from_row
    "f.id, f.inference_log_id, f.endpoint_name, f.deployment_id, f.model_name, f.model_version, f.request_id, f.trace_id, "
    "f.feedback_type, f.origin, f.feedback_value, f.correction, f.comment, f.status, f.training_sheet_id, f.qa_pair_id, "
    "f.flag_note, f.created_by, f.created_at, f.updated_by, f.updated_at, f.version"
)


class FeedbackStore:
    def __init__(self, workbench: Workbench) -> None:
        self._engine = workbench.backend.engine
        self._table = workbench.table("feedback")
        self._log = workbench.table("inference_log")

    def add(self, new: NewFeedback) -> Feedback:
        """A feedback row copying its prediction's endpoint, model version and ids from the
        inference log in the same statement; NotFoundError when no such logged prediction."""
        feedback_id = str(uuid.uuid4())
        written = self._engine.execute(
            f"INSERT INTO {self._table} (id, inference_log_id, model_id, deployment_id, endpoint_name, model_name, model_version, "
            "request_id, trace_id, feedback_type, origin, feedback_value, correction, comment, status, created_by, created_at, version) "
            "SELECT :id, l.id, concat(l.model_name, '/', l.model_version), l.deployment_id, l.endpoint_name, l.model_name, "
            "l.model_version, l.request_id, l.trace_id, :kind, :origin, :value, :correction, :comment, :status, :by, :now, 1 "
            f"FROM {self._log} l WHERE l.id = :log_id",
            {"id": feedback_id, "kind": new.kind.value, "origin": new.origin.value, "value": new.value,
             "correction": new.correction, "comment": new.comment, "status": FeedbackStatus.OPEN.value,
             "by": new.created_by, "now": datetime.now(UTC), "log_id": new.inference_log_id},
        )
        if written == 0:
            raise NotFoundError(f"No logged prediction {new.inference_log_id}: feedback needs a request the endpoint answered.")
        return self.get(feedback_id)

    def get(self, feedback_id: str) -> Feedback:
        row = self._engine.query_one(f"SELECT {FEEDBACK_COLUMNS} FROM {self._table} f WHERE f.id = :id", {"id": feedback_id})
        if row is None:
            raise NotFoundError(f"No feedback {feedback_id}.")
        return feedback_from_row(row)

    def for_prediction(self, inference_log_id: str) -> list[Feedback]:
        rows = self._engine.query(
            f"SELECT {FEEDBACK_COLUMNS} FROM {self._table} f WHERE f.inference_log_id = :log_id ORDER BY f.created_at",
            {"log_id": inference_log_id},
        )
        return [feedback_from_row(r) for r in rows]

    def set_status(
        self, feedback_id: str, status: FeedbackStatus, *, by: str, expected_version: int,
        training_sheet_id: str | None = None, qa_pair_id: str | None = None, flag_note: str | None = None,
    ) -> Feedback:
        """Move one item along (added to a Training Sheet, label updated, flagged, dismissed),
        refusing a write based on a version someone else has since changed."""
        written = self._engine.execute(
            f"UPDATE {self._table} SET status = :status, training_sheet_id = coalesce(:sheet, training_sheet_id), "
            "qa_pair_id = coalesce(:pair, qa_pair_id), flag_note = coalesce(:note, flag_note), updated_by = :by, "
            "updated_at = :now, version = version + 1 WHERE id = :id AND version = :expected",
            {"status": status.value, "sheet": training_sheet_id, "pair": qa_pair_id, "note": flag_note, "by": by,
             "now": datetime.now(UTC), "id": feedback_id, "expected": expected_version},
        )
        if written == 0:
            current = self.get(feedback_id)
            raise StaleWriteError(
                f"{current.updated_by or current.created_by} changed this feedback after you opened it; reload to see it."
            )
        return self.get(feedback_id)


def feedback_from_row(row: Mapping[str, Any]) -> Feedback:
    return Feedback(
        id=row["id"], inference_log_id=row["inference_log_id"], endpoint_name=row["endpoint_name"],
        deployment_id=row["deployment_id"], model_name=row["model_name"], model_version=row["model_version"],
        request_id=row["request_id"], trace_id=row["trace_id"], kind=FeedbackKind(row["feedback_type"]),
        origin=FeedbackOrigin(row["origin"]), value=row["feedback_value"], correction=row["correction"], comment=row["comment"],
        status=FeedbackStatus(row["status"]), training_sheet_id=row["training_sheet_id"], qa_pair_id=row["qa_pair_id"],
        flag_note=row["flag_note"], created_by=row["created_by"], created_at=row["created_at"], updated_by=row["updated_by"],
        updated_at=row["updated_at"], version=row["version"],
    )
