"""Local endpoints: registered model versions served by this process at
/api/v1/serving-endpoints/<name>/..., for the API and the Playground alike.

Deploying records the deployment, loads the model and marks the endpoint ready (or failed, with
why). A server started later loads a ready endpoint's model on its first request. Each endpoint
answers through its own bounded queue, checks its guardrails, and hands every request (answered
or refused) to the inference log writer, which writes off the request path.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from data_access.serving.local_model import load_registered_model
from data_access.serving.served_model import ModelAnswer, ServedModel, ServingError
from data_access.settings import Settings
from services.core.domain.template import SchemaField
from services.core.errors import NotFoundError, ValidationError, WorkbenchError
from services.core.pii import masked_text
from services.core.workbench import Workbench
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.guardrails import MAX_TOKENS_CEILING, described, pii_check, refused, schema_check, tokens_for
from services.deploy.inference_log import InferenceLogStore, InferenceLogWriter
from services.deploy.records import (
    ChatReply,
    ChatRequest,
    ChatTurn,
    DeployableModel,
    Deployment,
    DeploymentStatus,
    GuardrailResult,
    InferenceRecord,
    PiiAction,
    RequestSource,
    Target,
)
from services.deploy.request_queue import RequestQueue
from services.deploy.serving_errors import (
    AnswerWithheld,
    EndpointNotReadyError,
    GuardrailRefusal,
    ModelError,
    http_status,
)
from services.example_store.dynamic_few_shot import TemplateFewShot
from services.templates.prompt_templates import TemplateService
from services.templates.rendering import RenderedMessage

ModelLoader = Callable[[Settings, str, str], ServedModel]

# Databricks serving endpoint names: letters, digits, dashes and underscores, up to 63.
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z")
DEFAULT_MAX_TOKENS = 256
# One model on a CPU answers one request at a time (two at once only share the cores); the queue
# holds a burst from a few clients, and a request waiting past the limit is answered with 504.
WORKERS_PER_ENDPOINT = 1
MAX_QUEUED_REQUESTS = 32
REQUEST_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class _Live:
    deployment: Deployment
    model: ServedModel
    schema: tuple[SchemaField, ...]
    queue: RequestQueue
    few_shot: TemplateFewShot | None = None  # when the model's template retrieves examples per request


def endpoint_name_for(model: DeployableModel) -> str:
    """A default endpoint name: the model's name and version, cut to what an endpoint name allows."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", model.model_name.split(".")[-1]).strip("-_") or "model"
    return f"{base[:55]}-v{model.model_version}"[:63]


class LocalEndpoints:
    def __init__(
        self, workbench: Workbench, loader: ModelLoader | None = None, *, workers: int = WORKERS_PER_ENDPOINT,
        max_queued: int = MAX_QUEUED_REQUESTS, timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self._wb = workbench
        self._loader = loader or load_registered_model
        self._limits = (workers, max_queued, timeout_s)
        self._store = DeploymentsStore(workbench)
        self._log = InferenceLogWriter(InferenceLogStore(workbench))
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    # -- deploying --------------------------------------------------------------------------
    def deploy(self, workbench: Workbench, model: DeployableModel, endpoint_name: str, max_tokens: int = DEFAULT_MAX_TOKENS,
               schema_guardrail: bool = True, pii_action: PiiAction = PiiAction.FLAG) -> Deployment:
        """Serve `model` at `endpoint_name` (replacing what it served); EndpointNotReadyError when
        the model does not load (the deployment is recorded as failed, with why)."""
        if not ENDPOINT_NAME.match(endpoint_name):
            raise ValidationError("An endpoint name is 1 to 63 letters, digits, '-' or '_', starting with a letter or digit.", field="endpoint_name")
        if not 1 <= max_tokens <= MAX_TOKENS_CEILING:
            raise ValidationError(f"Max tokens must be between 1 and {MAX_TOKENS_CEILING:,}.", field="max_tokens")
        deployment = Deployment(
            id=str(uuid.uuid4()), endpoint_name=endpoint_name, model_name=model.model_name, model_version=model.model_version,
            model_id=model.model_id, target=Target.LOCAL, status=DeploymentStatus.READY, lineage_id=model.lineage_id,
            training_sheet_id=model.training_sheet_id, template_id=model.template_id, max_tokens=max_tokens,
            schema_guardrail=schema_guardrail, mlflow_run_id=model.mlflow_run_id, created_by=workbench.user.email,
            created_at=datetime.now(UTC), pii_action=pii_action,
        )
        # The model loads before anything changes: a version that does not load is recorded as a
        # failed attempt, and the endpoint keeps serving what it served.
        with self._load_lock(endpoint_name):
            try:
                live = self._load(deployment)
            except EndpointNotReadyError as error:
                self._store.insert(replace(deployment, status=DeploymentStatus.FAILED, error=str(error)))
                raise
            self._store.insert(deployment)
            self._swap_in(endpoint_name, live)
        return deployment

    def endpoints(self) -> list[Deployment]:
        return self._store.endpoints(Target.LOCAL)

    def current(self, endpoint_name: str) -> Deployment | None:
        return self._store.current(endpoint_name, Target.LOCAL)

    def _load(self, deployment: Deployment) -> _Live:
        try:
            model = self._loader(self._wb.settings, deployment.model_name, deployment.model_version)
        except ServingError as error:
            raise EndpointNotReadyError(f"Endpoint {deployment.endpoint_name} could not load {deployment.model_id}: {error}") from error
        template = TemplateService(self._wb).find(deployment.template_id) if deployment.template_id else None
        workers, max_queued, timeout_s = self._limits
        queue = RequestQueue(deployment.endpoint_name, workers, max_queued, timeout_s)
        few_shot = TemplateFewShot.for_template(self._wb, template) if template and template.retrieved_examples_k else None
        return _Live(deployment, model, template.output_schema if template else (), queue, few_shot)

    def _swap_in(self, name: str, live: _Live) -> None:
        with self._lock:
            old = self._live.get(name)
            self._live[name] = live
        if old is not None:
            old.queue.stop()  # answers what it had queued, then ends
            old.model.close()

    def _load_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._loading.setdefault(name, threading.Lock())

    def _serving(self, name: str) -> _Live:
        """The endpoint's loaded model; a ready endpoint deployed before this process started is loaded now."""
        with self._lock:
            live = self._live.get(name)
        if live is not None:
            return live
        deployment = self._store.current(name, Target.LOCAL)
        if deployment is None:
            raise NotFoundError(f"There is no local endpoint named {name}; deploy a model to it on the DEPLOY page.")
        if deployment.status is not DeploymentStatus.READY:
            reason = f": {deployment.error}" if deployment.error else ""
            raise EndpointNotReadyError(f"Endpoint {name} is {deployment.status.value}{reason}")
        with self._load_lock(name):
            with self._lock:
                live = self._live.get(name)
            if live is None:
                live = self._load(deployment)
                with self._lock:
                    self._live[name] = live
        return live

    # -- answering ---------------------------------------------------------------------------
    def invoke(
        self, endpoint_name: str, request: ChatRequest, *, requester: str, request_id: str | None = None,
        trace_id: str | None = None, source: RequestSource = RequestSource.API, replayed: bool = False,
    ) -> ChatReply:
        """The endpoint's answer to `request`; every outcome but an unknown endpoint is logged."""
        started, created_at = time.monotonic(), datetime.now(UTC)
        request_id, trace_id = request_id or uuid.uuid4().hex, trace_id or uuid.uuid4().hex
        try:
            live = self._serving(endpoint_name)
        except EndpointNotReadyError as error:  # a request to a failed endpoint is logged too (503)
            if (deployment := self._store.current(endpoint_name, Target.LOCAL)) is not None:
                latency_ms = (time.monotonic() - started) * 1000
                self._log.add(log_record(deployment, request, None, [], error, latency_ms, requester, request_id, trace_id,
                                         source, replayed, created_at))
            raise
        checks: list[GuardrailResult] = []
        answer: ModelAnswer | None = None
        tokens = live.deployment.max_tokens
        failure: WorkbenchError | None = None
        example_ids: tuple[str, ...] = ()
        try:
            tokens, limit = tokens_for(request, live.deployment.max_tokens)
            checks.append(limit)
            asked, example_ids = with_retrieved_examples(live.few_shot, request)
            answer = live.queue.run(lambda: _answer(live.model, asked, tokens))
            if live.deployment.schema_guardrail and live.schema:
                checks.append(schema_check(answer.text, live.schema))
            checks.append(pii := pii_check(answer.text))
            if not pii.passed and live.deployment.pii_action is PiiAction.BLOCK:
                # The log keeps what was withheld, masked, so MONITOR can show why without the data.
                answer = replace(answer, text=masked_text(answer.text, list(pii.findings)))
                raise AnswerWithheld(f"The answer was withheld: this endpoint blocks answers with personal data ({described(pii.findings)}).")
        except GuardrailRefusal as error:
            checks.append(refused(error))
            failure = error
            raise
        except WorkbenchError as error:
            failure = error
            raise
        finally:
            latency_ms = (time.monotonic() - started) * 1000
            self._log.add(replace(
                log_record(live.deployment, request, answer, checks, failure, latency_ms, requester, request_id, trace_id, source, replayed, created_at),
                few_shot_example_ids=list(example_ids) or None,
            ))
        deployment = live.deployment
        return ChatReply(
            answer.text, endpoint_name, deployment.model_name, deployment.model_version, answer.prompt_tokens,
            answer.completion_tokens, latency_ms, tokens, tuple(checks), request_id, trace_id, created_at,
        )

    def stop(self) -> None:
        """Answer what is queued, write every log record, release the models."""
        with self._lock:
            live, self._live = list(self._live.values()), {}
        for endpoint in live:
            endpoint.queue.stop()
            endpoint.model.close()
        self._log.stop()


def with_retrieved_examples(few_shot: TemplateFewShot | None, request: ChatRequest) -> tuple[ChatRequest, tuple[str, ...]]:
    """The request with its template's retrieved examples before its last message (the item),
    retrieved by that message; unchanged when the template retrieves none or the item is not a user's."""
    if few_shot is None or not request.messages or request.messages[-1].role != "user":
        return request, ()
    messages, ids = few_shot.complete(tuple(RenderedMessage(m.role, m.content) for m in request.messages))
    return replace(request, messages=tuple(ChatTurn(m.role, m.content) for m in messages)), ids


def _answer(model: ServedModel, request: ChatRequest, tokens: int) -> ModelAnswer:
    try:
        return model.answer(request.messages, tokens)
    except ServingError as error:
        raise ModelError(str(error)) from error


def request_json(request: ChatRequest) -> str:
    body: dict[str, object] = {"messages": [{"role": m.role, "content": m.content} for m in request.messages]}
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    return json.dumps(body, ensure_ascii=False)


def log_record(
    deployment: Deployment, request: ChatRequest, answer: ModelAnswer | None, checks: list[GuardrailResult],
    failure: WorkbenchError | None, latency_ms: float, requester: str, request_id: str, trace_id: str,
    source: RequestSource, replayed: bool, created_at: datetime,
) -> InferenceRecord:
    status = 200 if failure is None else (http_status(failure) or 400)
    response = None if answer is None else json.dumps({"content": answer.text, "prompt_tokens": answer.prompt_tokens,
                                                        "completion_tokens": answer.completion_tokens}, ensure_ascii=False)
    return InferenceRecord(
        id=str(uuid.uuid4()), deployment_id=deployment.id, endpoint_name=deployment.endpoint_name, model_name=deployment.model_name,
        model_version=deployment.model_version, request_id=request_id, trace_id=trace_id, request=request_json(request),
        response=response, prediction=None if answer is None else answer.text, latency_ms=latency_ms, status_code=status,
        input_tokens=None if answer is None else answer.prompt_tokens, output_tokens=None if answer is None else answer.completion_tokens,
        guardrails=json.dumps([c.as_json() for c in checks]), guardrails_passed=all(c.passed for c in checks),
        error=None if failure is None else str(failure), requester=requester, source=source.value, replayed=replayed,
        created_at=created_at, sheet_id=request.source_item.sheet_id if request.source_item else None,
        item_ref=request.source_item.item_ref if request.source_item else None,
    )


_registries: dict[tuple[str, str], LocalEndpoints] = {}
_registries_lock = threading.Lock()


def local_endpoints(workbench: Workbench) -> LocalEndpoints:
    """The process's endpoints for this store (the pages and the API share them)."""
    key = (workbench.settings.backend, str(workbench.settings.home.resolve()))
    with _registries_lock:
        found = _registries.get(key)
        if found is None:
            found = _registries[key] = LocalEndpoints(workbench)
        return found


def stop_local_endpoints() -> None:
    """On a clean stop of the server: queued requests answered, every log record written."""
    with _registries_lock:
        registries = list(_registries.values())
        _registries.clear()
    for registry in registries:
        registry.stop()
