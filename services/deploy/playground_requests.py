"""Where the Playground sends a request: a local endpoint of this app, or (on Databricks) a Model
Serving endpoint DEPLOY deployed, queried through a ServingTarget as the person using the app.

The two are answered and shown alike (the answer, its latency, its tokens when the model reports
them, whether it matches the template's output schema) but logged apart: a local endpoint writes
our inference log; a Model Serving request is logged by the endpoint's AI Gateway inference
table, which MONITOR reads, so it is not written to our log as well.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from data_access.serving.endpoints import QueryMessage, ServingError, ServingTarget
from services.core.domain.template import SchemaField
from services.core.errors import UnavailableError
from services.core.workbench import Workbench
from services.deploy.endpoints import LocalEndpoints
from services.deploy.guardrails import MAX_TOKENS_CEILING, schema_check, tokens_for
from services.deploy.model_serving import ServingEndpointRecord, serving_endpoints
from services.deploy.records import (
    ChatReply,
    ChatRequest,
    Deployment,
    DeploymentStatus,
    GuardrailResult,
    RequestSource,
    Target,
)
from services.templates.prompt_templates import TemplateService

# Model Serving records no token limit for a registered model; the Playground holds its requests
# to the ceiling a local endpoint may be set to, which the registered model reads as max_new_tokens.
MODEL_SERVING_MAX_TOKENS = MAX_TOKENS_CEILING


class Playground:
    """`serving` is None where there is no Model Serving (the local backend)."""

    def __init__(self, workbench: Workbench, local: LocalEndpoints, serving: ServingTarget | None) -> None:
        self._wb = workbench
        self._local = local
        self._serving = serving

    def endpoints(self) -> list[Deployment]:
        """The ready local endpoints, then the ready Model Serving endpoints."""
        local = [d for d in self._local.endpoints() if d.status is DeploymentStatus.READY]
        return local + [replace(r.deployment, max_tokens=MODEL_SERVING_MAX_TOKENS) for r in self._model_serving()]

    def send(self, deployment: Deployment, request: ChatRequest) -> ChatReply:
        if deployment.target == Target.DATABRICKS:
            return self._ask_model_serving(deployment, request)
        return self._local.invoke(deployment.endpoint_name, request, requester=self._wb.user.email, source=RequestSource.PLAYGROUND)

    def _model_serving(self) -> list[ServingEndpointRecord]:
        if self._serving is None:
            return []
        return [r for r in serving_endpoints(self._wb) if r.deployment.status is DeploymentStatus.READY]

    def _ask_model_serving(self, deployment: Deployment, request: ChatRequest) -> ChatReply:
        """The endpoint's answer; an UnavailableError with Model Serving's words when it gives none."""
        if self._serving is None:
            raise UnavailableError("Model Serving is only reachable on the Databricks backend.")
        tokens, limit = tokens_for(request, MODEL_SERVING_MAX_TOKENS)
        created_at = datetime.now(UTC)
        messages = [QueryMessage(m.role, m.content) for m in request.messages]
        try:
            answer = self._serving.query(deployment.endpoint_name, messages, max_tokens=tokens)
        except ServingError as error:
            raise UnavailableError(f"{error} Nothing was changed.") from error
        checks: list[GuardrailResult] = [limit]
        if (schema := self._output_schema(deployment)):
            checks.append(schema_check(answer.text, schema))
        return ChatReply(
            answer.text, deployment.endpoint_name, deployment.model_name, self._answering_version(deployment, answer.served_name),
            answer.prompt_tokens, answer.completion_tokens, answer.latency_ms, tokens, tuple(checks),
            request_id=uuid.uuid4().hex, trace_id="", created_at=created_at,
        )

    def logged_in(self, deployment: Deployment) -> str:
        """Which log holds a request to this endpoint, for the page to say."""
        if deployment.target != Target.DATABRICKS:
            return "logged to the inference log"
        table = next((r.inference_table for r in self._model_serving() if r.deployment.id == deployment.id), None)
        where = f"the AI Gateway inference table {table}" if table else "the endpoint's AI Gateway inference table"
        return f"logged by {where} (MONITOR reads it), not by the workbench's inference log"

    def _output_schema(self, deployment: Deployment) -> tuple[SchemaField, ...]:
        template = TemplateService(self._wb).find(deployment.template_id)
        return template.output_schema if template else ()

    def _answering_version(self, deployment: Deployment, served_name: str | None) -> str:
        """Which version of an A/B split answered, as Model Serving names it; the deployed one otherwise."""
        for record in self._model_serving():
            if record.deployment.id == deployment.id:
                return next((v.model_version for v in record.versions if v.served_name == served_name), deployment.model_version)
        return deployment.model_version
