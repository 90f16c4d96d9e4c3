"""Who is calling the API, as the pages have it.

On Databricks the App proxy forwards the signed-in user (X-Forwarded-Email, and their token
with on-behalf-of-user authorization); a request without it is refused (401). On a laptop the
caller is the local user, and only from this machine: a server bound to 0.0.0.0 must not let
someone on the network act as the person at the keyboard (403).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from starlette.requests import Request

from api.http import ApiError
from services.core.errors import UnavailableError
from services.core.workbench import MissingIdentityError, Workbench, open_workbench, session_cache_key

# As many callers as the pages keep sessions for; the least recently seen is dropped first.
MAX_CACHED_CALLERS = 256
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

_lock = threading.Lock()
_workbenches: OrderedDict[str, Workbench] = OrderedDict()


def caller_workbench(request: Request) -> Workbench:
    """The workbench acting for the caller; ApiError 401/403/503 when it cannot be opened for them."""
    headers = dict(request.headers)
    try:
        key = session_cache_key(headers)
    except MissingIdentityError as error:
        raise ApiError(401, "UNAUTHENTICATED", str(error)) from error
    workbench = _cached(key, headers)
    if not workbench.settings.is_databricks and not _from_this_machine(request):
        raise ApiError(403, "FORBIDDEN", "On a laptop the workbench API answers only callers on this machine (loopback).")
    return workbench


def _from_this_machine(request: Request) -> bool:
    host = request.client.host if request.client else ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _cached(key: str, headers: dict[str, str]) -> Workbench:
    # Keyed by who it acts for (backend, store, email and token digest), like the pages' cache.
    with _lock:
        found = _workbenches.get(key)
        if found is not None:
            _workbenches.move_to_end(key)
            return found
    try:
        opened = open_workbench(headers=headers)
    except UnavailableError as error:
        raise ApiError(503, "UNAVAILABLE", str(error)) from error
    with _lock:
        _workbenches[key] = opened
        while len(_workbenches) > MAX_CACHED_CALLERS:
            _workbenches.popitem(last=False)
    return opened
