"""Databricks Model Serving as a ServingTarget, through databricks-sdk (0.156).

- A new endpoint: `serving_endpoints.create_and_wait` with the served entities (the Unity
  Catalog model versions, each with its workload size and scale-to-zero), the traffic split and
  the AI Gateway in one call. An existing one: `update_config_and_wait` (entities and traffic;
  it takes no gateway), then `put_ai_gateway`. Both wait, polling, until the update has landed.
- The AI Gateway always writes an inference table (`AiGatewayInferenceTableConfig`), in the
  spec's schema or the workbench's, named `<prefix>_payload`, which MONITOR reads. The legacy
  `auto_capture_config` is deprecated and never sent. Rate limits (calls per minute, for the
  endpoint or per user) are sent as `AiGatewayRateLimit`s.
- Guardrails (PII, safety, keywords) are an AI Gateway feature of external and foundation model
  endpoints only; an endpoint serving a registered custom model cannot have them, so a spec
  asking for them is refused before anything is created rather than deployed without them.
- Queries: the registered chat model is an MLflow pyfunc whose input is a `messages` column, so
  Model Serving takes it as `dataframe_records` and answers `{"predictions": [...]}` (the chat
  fields of `serving_endpoints.query` are for foundation and external models). The body goes
  through the SDK's own client, as `query` sends it, plus the `params` that `query` cannot carry
  (the model's `max_new_tokens`), and is read back as the SDK's `QueryEndpointResponse`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from data_access.databricks_client import LazyWorkspace
from data_access.serving.endpoints import (
    EndpointAnswer,
    EndpointSpec,
    EndpointState,
    QueryMessage,
    ServedVersion,
    ServingError,
)

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.serving import AiGatewayConfig, ServingEndpointDetailed

# Model Serving builds a container per served entity; a first deployment takes 10-20 minutes.
DEPLOY_TIMEOUT = timedelta(minutes=30)
PAYLOAD_TABLE_SUFFIX = "_payload"  # the AI Gateway names its inference table <prefix>_payload


class DatabricksServingTarget:
    """`client_factory` returns a WorkspaceClient and is called once, on first use.

    `inference_schema` is the `catalog.schema` the inference tables go to when a spec names none.
    """

    def __init__(
        self, client_factory: Callable[[], WorkspaceClient], inference_schema: str, *, timeout: timedelta = DEPLOY_TIMEOUT
    ) -> None:
        catalog, _, schema = inference_schema.partition(".")
        if not catalog or not schema:
            raise ValueError(f"Inference tables need a catalog.schema; got {inference_schema!r}.")
        self._default_table = (catalog, schema)
        self._workspace = LazyWorkspace(client_factory)
        self.timeout = timeout

    # -- deploy -------------------------------------------------------------------------------
    def deploy(self, spec: EndpointSpec) -> EndpointState:
        from databricks.sdk.errors import DatabricksError, OperationFailed

        if spec.guardrails is not None:
            raise ServingError(
                "Model Serving offers AI Gateway guardrails for external and foundation models only, not for an endpoint "
                "serving a registered model; deploy without guardrails (the inference table records every answer)."
            )
        endpoints = self._workspace().serving_endpoints
        entities, traffic = _served_entities(spec), _traffic(spec)
        gateway = self._gateway(spec)
        try:
            if self._detailed(spec.name) is None:
                detailed = endpoints.create_and_wait(
                    spec.name, config=_core_config(spec.name, entities, traffic), ai_gateway=gateway, timeout=self.timeout
                )
            else:
                endpoints.update_config_and_wait(spec.name, served_entities=entities, traffic_config=traffic, timeout=self.timeout)
                endpoints.put_ai_gateway(
                    spec.name, inference_table_config=gateway.inference_table_config, rate_limits=gateway.rate_limits or [],
                    usage_tracking_config=gateway.usage_tracking_config,
                )
                detailed = endpoints.get(spec.name)
        except OperationFailed as error:
            raise ServingError(self._failure(spec.name, error)) from error
        except TimeoutError as error:
            raise ServingError(f"{spec.name} did not finish updating within {self.timeout}; Model Serving may still be building it.") from error
        except DatabricksError as error:
            raise ServingError(f"Model Serving refused {spec.name}: {error}") from error
        return _state(detailed)

    def _gateway(self, spec: EndpointSpec) -> AiGatewayConfig:
        from databricks.sdk.service.serving import (
            AiGatewayConfig,
            AiGatewayInferenceTableConfig,
            AiGatewayRateLimit,
            AiGatewayRateLimitKey,
            AiGatewayRateLimitRenewalPeriod,
            AiGatewayUsageTrackingConfig,
        )

        table = spec.inference_table
        catalog, schema = (table.catalog, table.schema) if table else self._default_table
        prefix = (table.table_prefix if table and table.table_prefix else spec.name).replace("-", "_")
        return AiGatewayConfig(
            inference_table_config=AiGatewayInferenceTableConfig(catalog_name=catalog, schema_name=schema, table_name_prefix=prefix, enabled=True),
            rate_limits=[
                AiGatewayRateLimit(
                    calls=limit.calls, renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE,
                    key=AiGatewayRateLimitKey.USER if limit.per_user else AiGatewayRateLimitKey.ENDPOINT,
                )
                for limit in spec.rate_limits
            ],
            usage_tracking_config=AiGatewayUsageTrackingConfig(enabled=True),
        )

    def _failure(self, name: str, error: Exception) -> str:
        """Why an update failed, in the served entities' own words where Model Serving gives them."""
        detailed = self._detailed(name)
        pending = detailed.pending_config if detailed else None
        messages = [
            f"{entity.name}: {entity.state.deployment_state_message}"
            for entity in (pending.served_entities if pending and pending.served_entities else [])
            if entity.state and entity.state.deployment_state_message
        ]
        reason = "; ".join(messages) or str(error)
        return f"{name} failed to deploy: {reason}. The served entities' build logs say more (Serving → {name} → Logs)."

    # -- state and queries ----------------------------------------------------------------------
    def state(self, name: str) -> EndpointState | None:
        from databricks.sdk.errors import DatabricksError

        try:
            detailed = self._detailed(name)
        except DatabricksError as error:
            raise ServingError(f"Could not read {name}: {error}") from error
        return _state(detailed) if detailed else None

    def _detailed(self, name: str) -> ServingEndpointDetailed | None:
        from databricks.sdk.errors import NotFound

        try:
            return self._workspace().serving_endpoints.get(name)
        except NotFound:
            return None

    def query(self, name: str, messages: Sequence[QueryMessage], *, max_tokens: int | None = None) -> EndpointAnswer:
        from databricks.sdk.errors import DatabricksError
        from databricks.sdk.service.serving import QueryEndpointResponse

        body: dict[str, Any] = {"dataframe_records": [{"messages": [{"role": m.role, "content": m.content} for m in messages]}]}
        if max_tokens is not None:
            body["params"] = {"max_new_tokens": max_tokens}
        started = time.perf_counter()
        try:
            raw = self._workspace().api_client.do(
                "POST", f"/serving-endpoints/{name}/invocations", body=body,
                headers={"Accept": "application/json", "Content-Type": "application/json"}, response_headers=["served-model-name"],
            )
        except DatabricksError as error:
            raise ServingError(f"{name} did not answer: {error}") from error
        except TimeoutError as error:  # the SDK retried a busy (429/503) or unreachable endpoint until its retry timeout
            raise ServingError(f"{name} did not answer in time ({error}); it may be scaling up from zero.") from error
        latency_ms = (time.perf_counter() - started) * 1000
        response = QueryEndpointResponse.from_dict(raw)
        if not response.predictions or not isinstance(response.predictions[0], str):
            raise ServingError(f"{name} answered without a prediction: {str(raw)[:300]}")
        return EndpointAnswer(text=response.predictions[0], served_name=response.served_model_name, latency_ms=latency_ms)


def _served_entities(spec: EndpointSpec) -> list[Any]:
    from databricks.sdk.service.serving import ServedEntityInput

    return [
        ServedEntityInput(
            name=v.served_name, entity_name=v.model_name, entity_version=v.model_version,
            workload_size=spec.workload_size, scale_to_zero_enabled=spec.scale_to_zero,
        )
        for v in spec.versions
    ]


def _traffic(spec: EndpointSpec) -> Any:
    from databricks.sdk.service.serving import Route, TrafficConfig

    return TrafficConfig(routes=[Route(served_entity_name=v.served_name, traffic_percentage=v.traffic_percent) for v in spec.versions])


def _core_config(name: str, entities: list[Any], traffic: Any) -> Any:
    from databricks.sdk.service.serving import EndpointCoreConfigInput

    return EndpointCoreConfigInput(name=name, served_entities=entities, traffic_config=traffic)


def _state(detailed: ServingEndpointDetailed) -> EndpointState:
    config = detailed.config
    percent = {r.served_entity_name: r.traffic_percentage for r in (config.traffic_config.routes or [])} if config and config.traffic_config else {}
    versions = tuple(
        ServedVersion(e.entity_name or "", e.entity_version or "", percent.get(e.name, 0))
        for e in ((config.served_entities or []) if config else [])
    )
    table = detailed.ai_gateway.inference_table_config if detailed.ai_gateway else None
    return EndpointState(
        name=detailed.name or "",
        ready=detailed.state.ready.value if detailed.state and detailed.state.ready else "NOT_READY",
        config_update=detailed.state.config_update.value if detailed.state and detailed.state.config_update else "NOT_UPDATING",
        versions=versions,
        url=detailed.endpoint_url,
        inference_table=(
            f"{table.catalog_name}.{table.schema_name}.{table.table_name_prefix}{PAYLOAD_TABLE_SUFFIX}" if table and table.enabled else None
        ),
    )
