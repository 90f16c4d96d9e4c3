"""Model Serving as the loopback workspace (tests/fakes/databricks_rest.py) serves it.

The routes the real databricks-sdk calls: create (`POST /api/2.0/serving-endpoints`), get,
update the config (`PUT .../{name}/config`), the AI Gateway (`PUT .../{name}/ai-gateway`), and
queries (`POST /serving-endpoints/{name}/invocations`). Like Model Serving, a create or update
answers at once with the change pending (`config_update: IN_PROGRESS`, a new endpoint
`NOT_READY`); the change lands after `polls_to_finish` reads of the endpoint (the SDK's
`*_and_wait` polls `get`), or fails there when a test called `fail_next_update`. A second
update while one is in flight is refused, as is a served entity naming a model version Unity
Catalog does not have (`add_model_version` registers one). The AI Gateway takes rate limits
and inference tables for a custom model; guardrails are refused, as Model Serving refuses
them for custom models. A query of a ready endpoint is answered by `answer(served_name,
messages)` (by default, which version answered), routed by the traffic split in turn, and
shaped as MLflow's scoring server shapes a pyfunc's answers: `{"predictions": [...]}` (no
`usage`: a custom model reports no token counts). `fail_next_query` makes the next queries fail
as a served model's container or a scaling endpoint does (a 5xx with Model Serving's error body).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.databricks_rest import HttpError, _json

ENDPOINTS = "/api/2.0/serving-endpoints"
INVOCATIONS = "/serving-endpoints/"
WORKLOAD_SIZES = ("Small", "Medium", "Large")


def _default_answer(served_name: str, messages: list[dict[str, Any]]) -> str:
    return f"{served_name} read {len(messages)} messages"


class FakeServing:
    def __init__(self, host: Callable[[], str]) -> None:
        self._host = host
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.model_versions: set[tuple[str, str]] = set()
        self.polls_to_finish = 1
        self.answer: Callable[[str, list[dict[str, Any]]], str] = _default_answer
        self.queries: list[dict[str, Any]] = []
        self._failure: str | None = None
        self._query_failure: HttpError | None = None
        self._query_failures = 0
        self._polls: dict[str, int] = {}
        self._routed = 0

    # -- seeding (tests) -------------------------------------------------------------------
    def add_model_version(self, full_name: str, version: str) -> None:
        self.model_versions.add((full_name, str(version)))

    def fail_next_update(self, message: str) -> None:
        """The next create or update fails to deploy, with this as its served entities' message."""
        self._failure = message

    def fail_next_query(self, status: int, message: str, times: int = 1) -> None:
        """The next `times` queries are answered with this status and message instead of a prediction."""
        self._query_failure = HttpError(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST", message)
        self._query_failures = times

    # -- routes ----------------------------------------------------------------------------
    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        request = json.loads(body or b"{}") if method in ("POST", "PUT") else {}
        if path == ENDPOINTS and method == "POST":
            return self._create(request)
        if path.startswith(ENDPOINTS + "/"):
            name, _, action = path[len(ENDPOINTS) + 1 :].partition("/")
            if action == "" and method == "GET":
                return _json(200, self._get(name))
            if action == "config" and method == "PUT":
                return self._update_config(name, request)
            if action == "ai-gateway" and method == "PUT":
                return self._put_ai_gateway(name, request)
        if path.startswith(INVOCATIONS) and path.endswith("/invocations") and method == "POST":
            return self._invoke(path[len(INVOCATIONS) : -len("/invocations")], request)
        return None

    def _create(self, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        name = request.get("name") or ""
        if name in self.endpoints:
            raise HttpError(400, "RESOURCE_ALREADY_EXISTS", f"Endpoint with name '{name}' already exists.")
        config = request.get("config") or {}
        if "auto_capture_config" in config:
            raise HttpError(400, "INVALID_PARAMETER_VALUE", "auto_capture_config is deprecated; configure inference tables in ai_gateway.")
        pending = self._config(config.get("served_entities") or [], config.get("traffic_config"), version=1)
        gateway = self._gateway(request.get("ai_gateway") or {}, name)
        now = int(time.time() * 1000)
        self.endpoints[name] = {
            "name": name, "id": f"ep-{len(self.endpoints) + 1}", "creator": "tester@example.com", "creation_timestamp": now,
            "last_updated_timestamp": now, "permission_level": "CAN_MANAGE", "route_optimized": False,
            "state": {"ready": "NOT_READY", "config_update": "IN_PROGRESS"}, "pending_config": {**pending, "start_time": now},
            "ai_gateway": gateway,
        }
        self._begin_update(name)
        return _json(200, self._view(name))

    def _update_config(self, name: str, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        endpoint = self._endpoint(name)
        if endpoint["state"]["config_update"] == "IN_PROGRESS":
            raise HttpError(409, "RESOURCE_CONFLICT", f"Endpoint {name} is currently updating; wait for the update to finish.")
        if "auto_capture_config" in request:
            raise HttpError(400, "INVALID_PARAMETER_VALUE", "auto_capture_config is deprecated; configure inference tables in ai_gateway.")
        current = endpoint.get("config") or {}
        pending = self._config(request.get("served_entities") or [], request.get("traffic_config"), version=current.get("config_version", 0) + 1)
        endpoint["pending_config"] = {**pending, "start_time": int(time.time() * 1000)}
        endpoint["state"]["config_update"] = "IN_PROGRESS"
        self._begin_update(name)
        return _json(200, self._view(name))

    def _put_ai_gateway(self, name: str, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        endpoint = self._endpoint(name)
        endpoint["ai_gateway"] = self._gateway(request, name)
        return _json(200, endpoint["ai_gateway"])

    def _get(self, name: str) -> dict[str, Any]:
        endpoint = self._endpoint(name)
        if endpoint["state"]["config_update"] == "IN_PROGRESS":
            self._polls[name] = self._polls.get(name, 0) + 1
            if self._polls[name] > self.polls_to_finish:
                self._finish_update(endpoint)
        return self._view(name)

    def _invoke(self, name: str, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        endpoint = self._endpoint(name)
        if endpoint["state"]["ready"] != "READY":
            raise HttpError(400, "BAD_REQUEST", f"Endpoint {name} is not ready; its state is {endpoint['state']['ready']}.")
        records = request.get("dataframe_records")
        if not isinstance(records, list) or not all(isinstance(r, dict) and isinstance(r.get("messages"), list) for r in records):
            raise HttpError(400, "BAD_REQUEST", "This model takes dataframe_records whose rows each hold 'messages'.")
        if self._query_failure is not None and self._query_failures > 0:
            self._query_failures -= 1
            raise self._query_failure
        served = self._route(endpoint)
        self.queries.append({"endpoint": name, "served_name": served, **request})
        body = json.dumps({"predictions": [self.answer(served, r["messages"]) for r in records]}).encode()
        return 200, {"Content-Type": "application/json", "Content-Length": str(len(body)), "served-model-name": served}, body

    # -- the state machine ------------------------------------------------------------------
    def _begin_update(self, name: str) -> None:
        self._polls[name] = 0
        failure, self._failure = self._failure, None
        self.endpoints[name]["_failure"] = failure

    def _finish_update(self, endpoint: dict[str, Any]) -> None:
        pending = endpoint.pop("pending_config")
        pending.pop("start_time", None)
        failure = endpoint.pop("_failure", None)
        if failure:
            endpoint["state"]["config_update"] = "UPDATE_FAILED"
            endpoint["failed_config"] = {
                **pending,
                "served_entities": [
                    {**e, "state": {"deployment": "DEPLOYMENT_FAILED", "deployment_state_message": failure}} for e in pending["served_entities"]
                ],
            }
            return
        endpoint["config"] = pending
        endpoint["failed_config"] = None
        endpoint["state"] = {"ready": "READY", "config_update": "NOT_UPDATING"}
        endpoint["last_updated_timestamp"] = int(time.time() * 1000)

    def _route(self, endpoint: dict[str, Any]) -> str:
        """Requests go to the served entities in proportion to their traffic, in turn (so a test knows which)."""
        routes = endpoint["config"]["traffic_config"]["routes"]
        slot = self._routed % 100
        self._routed += 1
        for route in routes:
            if slot < route["traffic_percentage"]:
                return route["served_entity_name"]
            slot -= route["traffic_percentage"]
        return routes[-1]["served_entity_name"]

    # -- validation as Model Serving does it -------------------------------------------------
    def _config(self, entities: list[dict[str, Any]], traffic: dict[str, Any] | None, *, version: int) -> dict[str, Any]:
        if not entities:
            raise HttpError(400, "INVALID_PARAMETER_VALUE", "At least one served entity is required.")
        served = []
        for entity in entities:
            full_name, entity_version = entity.get("entity_name"), str(entity.get("entity_version") or "")
            if (full_name, entity_version) not in self.model_versions:
                raise HttpError(404, "RESOURCE_DOES_NOT_EXIST", f"Model version {entity_version} of {full_name} does not exist.")
            if entity.get("workload_size") not in WORKLOAD_SIZES:
                raise HttpError(400, "INVALID_PARAMETER_VALUE", f"Workload size must be one of {', '.join(WORKLOAD_SIZES)}.")
            served.append({
                "name": entity.get("name") or f"{full_name.rsplit('.', 1)[-1]}-{entity_version}", "entity_name": full_name,
                "entity_version": entity_version, "workload_size": entity["workload_size"],
                "scale_to_zero_enabled": bool(entity.get("scale_to_zero_enabled")), "creator": "tester@example.com",
                "creation_timestamp": int(time.time() * 1000),
                "state": {"deployment": "DEPLOYMENT_READY", "deployment_state_message": ""},
            })
        names = [e["name"] for e in served]
        routes = (traffic or {}).get("routes")
        if not routes and len(served) == 1:
            routes = [{"served_entity_name": names[0], "traffic_percentage": 100}]
        if not routes or sum(r.get("traffic_percentage", 0) for r in routes) != 100 or any(r.get("served_entity_name") not in names for r in routes):
            raise HttpError(400, "INVALID_PARAMETER_VALUE", "Traffic routes must name served entities and add up to 100 percent.")
        return {"config_version": version, "served_entities": served, "traffic_config": {"routes": routes}}

    @staticmethod
    def _gateway(gateway: dict[str, Any], name: str) -> dict[str, Any]:
        if gateway.get("guardrails"):
            raise HttpError(400, "INVALID_PARAMETER_VALUE", "AI guardrails are not supported for custom model serving endpoints.")
        for limit in gateway.get("rate_limits") or []:
            if limit.get("renewal_period") != "minute" or not (limit.get("calls") or limit.get("tokens")):
                raise HttpError(400, "INVALID_PARAMETER_VALUE", "A rate limit needs calls or tokens per minute.")
        table = gateway.get("inference_table_config")
        if table and table.get("enabled") and not (table.get("catalog_name") and table.get("schema_name")):
            raise HttpError(400, "INVALID_PARAMETER_VALUE", "An inference table needs a catalog and a schema.")
        if table and table.get("enabled"):
            table = {**table, "table_name_prefix": table.get("table_name_prefix") or name}
        return {k: v for k, v in {**gateway, "inference_table_config": table}.items() if v}

    def _endpoint(self, name: str) -> dict[str, Any]:
        if name not in self.endpoints:
            raise HttpError(404, "RESOURCE_DOES_NOT_EXIST", f"Endpoint with name '{name}' does not exist.")
        return self.endpoints[name]

    def _view(self, name: str) -> dict[str, Any]:
        endpoint = self.endpoints[name]
        view = {k: v for k, v in endpoint.items() if not k.startswith("_") and k != "failed_config" and v is not None}
        if endpoint.get("failed_config"):
            # Model Serving shows a failed update's entities (with their messages) as the pending config.
            view["pending_config"] = endpoint["failed_config"]
        if view.get("state", {}).get("ready") == "READY":
            view["endpoint_url"] = f"{self._host()}/serving-endpoints/{name}/invocations"
        return view
