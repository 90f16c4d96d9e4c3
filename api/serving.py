"""Local serving endpoints over HTTP:

- `GET  /api/v1/serving-endpoints` and `/api/v1/serving-endpoints/{name}`: what is deployed;
- `POST /api/v1/serving-endpoints` `{"name", "model_id": "<model>/<version>", "max_tokens",
  "output_schema_guardrail", "pii_guardrail": "flag" | "block"}`: deploy a registered version (answers once its model is loaded);
- `POST /api/v1/serving-endpoints/{name}/invocations`: the Databricks Model Serving chat call;
- `POST /api/v1/serving-endpoints/{name}/chat/completions`: the same, OpenAI-style (a client
  whose base URL is `…/serving-endpoints/{name}`);
- `POST /api/v1/openai/v1/chat/completions` with `model` = the endpoint name, and
  `GET /api/v1/openai/v1/models`: an OpenAI-compatible server (DSPy, litellm, openai clients).

The model runs off the event loop (a worker thread), so the pages stay responsive.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from api.chat_wire import chat_request, chat_response, trace_id_from
from api.http import ApiError, api_route, read_json, request_id
from api.identity import caller_workbench
from services.core.workbench import Workbench
from services.deploy.deployable_models import DeployableModels
from services.deploy.endpoints import DEFAULT_MAX_TOKENS, LocalEndpoints, local_endpoints
from services.deploy.records import Deployment, PiiAction, RequestSource

EndpointsFor = Callable[[Workbench], LocalEndpoints]


def _describe(deployment: Deployment) -> dict[str, object]:
    return {
        "name": deployment.endpoint_name,
        "state": {"ready": deployment.status.value.upper()},
        "target": deployment.target,
        "served_model": {"name": deployment.model_name, "version": deployment.model_version},
        "config": {"max_tokens": deployment.max_tokens, "output_schema_guardrail": deployment.schema_guardrail,
                   "pii_guardrail": deployment.pii_action.value},
        "created_by": deployment.created_by,
        "created_at": deployment.created_at.isoformat() if deployment.created_at else None,
        "error": deployment.error,
    }


def serving_routes(endpoints_for: EndpointsFor = local_endpoints) -> list[BaseRoute]:
    async def list_endpoints(request: Request) -> Response:
        endpoints = endpoints_for(caller_workbench(request))
        return JSONResponse({"endpoints": [_describe(d) for d in await run_in_threadpool(endpoints.endpoints)]})

    async def get_endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        found = await run_in_threadpool(endpoints_for(caller_workbench(request)).current, name)
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"There is no local endpoint named {name}.")
        return JSONResponse(_describe(found))

    async def deploy(request: Request) -> Response:
        workbench = caller_workbench(request)
        body = await read_json(request)
        name, model_id = body.get("name"), body.get("model_id")
        max_tokens, guardrail = body.get("max_tokens", DEFAULT_MAX_TOKENS), body.get("output_schema_guardrail", True)
        if not isinstance(name, str) or not isinstance(model_id, str):
            raise ApiError(400, "INVALID_REQUEST", "'name' (the endpoint) and 'model_id' (<model>/<version>) are required.")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not isinstance(guardrail, bool):
            raise ApiError(400, "INVALID_REQUEST", "'max_tokens' must be a whole number and 'output_schema_guardrail' true or false.")
        pii = body.get("pii_guardrail", PiiAction.FLAG.value)
        if pii not in tuple(PiiAction):
            raise ApiError(400, "INVALID_REQUEST", "'pii_guardrail' must be 'flag' (return the answer, flagged) or 'block'.")

        def deploy_now() -> Deployment:
            model = DeployableModels(workbench).get(model_id)
            return endpoints_for(workbench).deploy(workbench, model, name, max_tokens, guardrail, PiiAction(pii))

        return JSONResponse(_describe(await run_in_threadpool(deploy_now)))

    async def answer(request: Request, name: str, body: dict) -> Response:
        workbench = caller_workbench(request)
        chat = chat_request(body)
        reply = await run_in_threadpool(
            lambda: endpoints_for(workbench).invoke(
                name, chat, requester=workbench.user.email, request_id=request_id(request),
                trace_id=trace_id_from(request.headers.get("traceparent")), source=RequestSource.API,
            )
        )
        return JSONResponse(chat_response(reply, name))

    async def invocations(request: Request) -> Response:
        return await answer(request, request.path_params["name"], await read_json(request))

    async def openai_completions(request: Request) -> Response:
        body = await read_json(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "INVALID_REQUEST", "'model' must name a local endpoint (GET /api/v1/openai/v1/models lists them).")
        return await answer(request, model, body)

    async def openai_models(request: Request) -> Response:
        endpoints = await run_in_threadpool(endpoints_for(caller_workbench(request)).endpoints)
        return JSONResponse({"object": "list", "data": [
            {"id": d.endpoint_name, "object": "model", "created": int(d.created_at.timestamp()) if d.created_at else 0, "owned_by": d.created_by}
            for d in endpoints if d.status.value == "ready"
        ]})

    async def list_or_deploy(request: Request) -> Response:
        return await (deploy(request) if request.method == "POST" else list_endpoints(request))

    base = "/api/v1/serving-endpoints"
    return [
        api_route(base, list_or_deploy, ["GET", "POST"]),
        api_route(f"{base}/{{name}}", get_endpoint, ["GET"]),
        api_route(f"{base}/{{name}}/invocations", invocations, ["POST"]),
        api_route(f"{base}/{{name}}/chat/completions", invocations, ["POST"]),
        api_route("/api/v1/openai/v1/chat/completions", openai_completions, ["POST"]),
        api_route("/api/v1/openai/v1/models", openai_models, ["GET"]),
    ]
