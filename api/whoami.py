"""`GET /api/v1/me`: who the API takes the caller to be (a client's first check of its set-up)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http import api_route
from api.identity import caller_workbench


async def me(request: Request) -> Response:
    workbench = caller_workbench(request)
    return JSONResponse({"email": workbench.user.email, "display_name": workbench.user.display_name, "backend": workbench.settings.backend})


ROUTES = [api_route("/api/v1/me", me, ["GET"])]
