"""Edge bundles over HTTP:

- `POST /api/v1/edge-bundles` `{"model_id": "<model>/<version>"}`: starts the export job;
  answers 202 with its job id (the build takes seconds to minutes);
- `GET /api/v1/edge-bundles`: the bundles built, and failed builds with why;
- `GET /api/v1/edge-bundles/{id}/archive`: the zip, streamed from disk a chunk at a time, with
  its sha256 in `X-Content-SHA256` to check after carrying it.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute

from api.http import ApiError, api_route, read_json
from api.identity import caller_workbench
from services.deploy.deployable_models import DeployableModels
from services.deploy.edge_exports import BuiltBundle, EdgeExports

BASE = "/api/v1/edge-bundles"


def _describe(bundle: BuiltBundle) -> dict[str, object]:
    return {
        "id": bundle.deployment_id, "file_name": bundle.file_name, "model_id": bundle.model_id,
        "status": bundle.status.value, "size_bytes": bundle.size_bytes, "sha256": bundle.sha256,
        "created_by": bundle.created_by, "created_at": bundle.created_at.isoformat() if bundle.created_at else None,
        "error": bundle.error, "archive": f"{BASE}/{bundle.deployment_id}/archive" if bundle.downloadable else None,
    }


async def list_or_start(request: Request) -> Response:
    workbench = caller_workbench(request)
    if request.method == "GET":
        return JSONResponse({"bundles": [_describe(b) for b in await run_in_threadpool(EdgeExports(workbench).bundles)]})
    model_id = (await read_json(request)).get("model_id")
    if not isinstance(model_id, str):
        raise ApiError(400, "INVALID_REQUEST", "'model_id' (<model>/<version>) is required.")

    def start() -> str:
        return EdgeExports(workbench).start(DeployableModels(workbench).get(model_id))

    return JSONResponse({"job_id": await run_in_threadpool(start)}, status_code=202)


async def archive(request: Request) -> Response:
    exports = EdgeExports(caller_workbench(request))
    bundle = await run_in_threadpool(exports.get, request.path_params["id"])
    if not bundle.downloadable or bundle.path is None:
        raise ApiError(404, "NOT_FOUND", f"{bundle.file_name} has no archive on this machine; export it again.")
    return FileResponse(bundle.path, media_type="application/zip", filename=bundle.file_name,
                        headers={"X-Content-SHA256": bundle.sha256 or ""})


ROUTES: list[BaseRoute] = [api_route(BASE, list_or_start, ["GET", "POST"]), api_route(f"{BASE}/{{id}}/archive", archive, ["GET"])]
