"""Capturing feedback on a logged prediction: a thumbs up or down, or a correction, from the
Playground, MONITOR or an application through the API.

A correction is the answer the model should have given, so it is checked against the output
schema of the template the deployment serves (the same check the serving guardrail makes); a bad
one is refused with the reason and nothing is written. A correction always means thumbs down."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from data_access.tracking.trace_feedback import MlflowTraceFeedback, TraceFeedback, TraceFeedbackError
from services.core.domain.template import SchemaField
from services.core.errors import NotFoundError, ValidationError
from services.core.workbench import Workbench
from services.improve.feedback_store import FeedbackStore
from services.improve.records import Feedback, FeedbackKind, FeedbackOrigin, NewFeedback
from services.templates.output_parsing import parse_output
from services.templates.prompt_templates import TemplateService

log = logging.getLogger(__name__)

UP, DOWN = "up", "down"
# A comment or a free-text correction is a sentence or a paragraph; a page of text is a mistake.
MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class FeedbackInput:
    """What a person or an application says about one answer."""

    value: str  # up | down
    correction: str | None = None
    comment: str | None = None


class FeedbackCapture:
    def __init__(self, workbench: Workbench, traces: TraceFeedback | None = None) -> None:
        """`traces`: where feedback also goes onto the request's MLflow trace; by default the
        workspace's MLflow on Databricks, and nowhere on a laptop (local endpoints' trace ids
        name log rows, not MLflow traces)."""
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._store = FeedbackStore(workbench)
        self._traces = traces if traces is not None else (MlflowTraceFeedback("databricks") if workbench.settings.is_databricks else None)

    def log_id_for(self, *, request_id: str | None = None, trace_id: str | None = None) -> str:
        """The inference-log row a request id or trace id names; NotFoundError when none does."""
        if not request_id and not trace_id:
            raise ValidationError("Name the answer: a request_id or a trace_id.")
        column, value = ("request_id", request_id) if request_id else ("trace_id", trace_id)
        row = self._engine.query_one(
            f"SELECT id FROM {self._wb.table('inference_log')} WHERE {column} = :value ORDER BY created_at DESC LIMIT 1",
            {"value": value},
        )
        if row is None:
            raise NotFoundError(f"No logged request with {column} {value}: feedback needs a request an endpoint of this workbench answered.")
        return row["id"]

    def submit(self, inference_log_id: str, given: FeedbackInput, origin: FeedbackOrigin) -> Feedback:
        """One feedback row on a logged prediction, by the current user; ValidationError for a bad
        value or a correction the output schema refuses (nothing written)."""
        value = (given.value or "").strip().lower()
        if value not in (UP, DOWN):
            raise ValidationError(f"The value must be 'up' or 'down', not {given.value!r}.")
        correction = (given.correction or "").strip() or None
        comment = (given.comment or "").strip() or None
        if len(correction or "") > MAX_TEXT_CHARS or len(comment or "") > MAX_TEXT_CHARS:
            raise ValidationError(f"A correction or comment may be at most {MAX_TEXT_CHARS:,} characters.")
        if correction is not None and value == UP:
            raise ValidationError("A correction says the answer was wrong: send it with thumbs down.")
        if correction is not None:
            correction = self.checked_correction(inference_log_id, correction)
        kind = FeedbackKind.CORRECTION if correction is not None else FeedbackKind.RATING
        saved = self._store.add(NewFeedback(inference_log_id, kind, origin, self._wb.user.email, value=value,
                                            correction=correction, comment=comment))
        self._onto_trace(saved)
        return saved

    def _onto_trace(self, feedback: Feedback) -> None:
        """The same feedback on the request's MLflow trace. The workbench's row is the record:
        MLflow refusing (a trace it does not hold) is logged, and the feedback stands."""
        if self._traces is None or not feedback.trace_id:
            return
        try:
            self._traces.log(feedback.trace_id, thumbs_up=feedback.value == UP, by=feedback.created_by, rationale=feedback.comment,
                             correction=feedback.correction, metadata={"workbench_feedback_id": feedback.id, "origin": feedback.origin.value})
        except TraceFeedbackError as error:
            log.warning("Feedback %s is stored; %s", feedback.id, error)

    def checked_correction(self, inference_log_id: str, correction: str) -> str:
        """The correction as stored: the schema's JSON object when the model has an output schema
        (ValidationError naming every problem when it does not fit), else the text as given."""
        schema = self.output_schema(inference_log_id)
        if not schema:
            return correction
        parsed = parse_output(correction, schema)
        if not parsed.ok or parsed.value is None:
            raise ValidationError("The correction does not fit the model's output schema: " + " ".join(parsed.errors))
        return json.dumps(parsed.value, ensure_ascii=False)

    def output_schema(self, inference_log_id: str) -> tuple[SchemaField, ...]:
        """The output schema of the template the answering deployment serves; () when it has none."""
        row = self._engine.query_one(
            f"SELECT d.template_id FROM {self._wb.table('inference_log')} l "
            f"JOIN {self._wb.table('deployments')} d ON d.id = l.deployment_id WHERE l.id = :id",
            {"id": inference_log_id},
        )
        template = TemplateService(self._wb).find(row["template_id"]) if row else None
        return template.output_schema if template else ()
