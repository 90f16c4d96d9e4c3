"""The API's routes, middleware and lifespan, as st.App takes them (see asgi.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from api import edge_bundles, examples, feedback, whoami
from api.http import RequestIdMiddleware, not_found_route
from api.serving import EndpointsFor, serving_routes
from services.deploy.endpoints import local_endpoints, stop_local_endpoints
from services.improve.retrain_schedule import start_server_retrain_schedule, stop_retrain_schedules
from services.monitor.alert_schedule import start_server_alert_schedule, stop_alert_schedules


def api_routes(endpoints_for: EndpointsFor = local_endpoints) -> list[BaseRoute]:
    """Every route of the API; the unknown-route 404 comes last."""
    return [*whoami.ROUTES, *serving_routes(endpoints_for), *edge_bundles.ROUTES, *examples.ROUTES, *feedback.ROUTES, not_found_route()]


def api_middleware() -> list[Middleware]:
    return [Middleware(RequestIdMiddleware)]


@asynccontextmanager
async def api_lifespan(_app: Any) -> AsyncIterator[None]:
    """On a clean stop, the local endpoints answer what they have queued and the inference log
    writes every record it holds before the process ends. Alert rules are evaluated in the
    background while the server runs (services/monitor/alert_schedule.py), and so are retrain
    rules (services/improve/retrain_schedule.py)."""
    start_server_alert_schedule()
    start_server_retrain_schedule()
    try:
        yield
    finally:
        stop_local_endpoints()
        stop_alert_schedules()
        stop_retrain_schedules()
