"""The API's routes, middleware and lifespan, as st.App takes them (see asgi.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from api import whoami
from api.http import RequestIdMiddleware, not_found_route


def api_routes() -> list[BaseRoute]:
    return [*whoami.ROUTES, not_found_route()]


def api_middleware() -> list[Middleware]:
    return [Middleware(RequestIdMiddleware)]


@asynccontextmanager
async def api_lifespan(_app: Any) -> AsyncIterator[None]:
    yield
