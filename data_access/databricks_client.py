"""A WorkspaceClient for whoever is using the app.

The SDK's `Config()` finds the app's own identity in the environment: in a Databricks App the
service principal's OAuth credentials (DATABRICKS_HOST, DATABRICKS_CLIENT_ID/SECRET), on a
laptop a developer's profile or token. With on-behalf-of-user authorization the App proxy also
forwards the signed-in user's token (`User.access_token`); a client built for that token acts as
the user, so Unity Catalog checks their permissions on every call, not the app's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from data_access.identity import User

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

# One client per (user, token, host). Forwarded tokens are short-lived and replaced, so the
# cache is bounded and the least recently used clients (stale tokens) fall out first.
MAX_CACHED_CLIENTS = 256

_lock = threading.Lock()
_clients: OrderedDict[tuple[str, str], WorkspaceClient] = OrderedDict()
_app_config: Config | None = None


def app_config() -> Config:
    """The app's own identity, resolved once a process (it is nobody's user token)."""
    global _app_config
    with _lock:
        if _app_config is None:
            # databricks.sdk takes about 2 s to import: only the Databricks backend pays for it.
            from databricks.sdk.config import Config

            _app_config = Config()
        return _app_config


def workspace_client(user: User) -> WorkspaceClient:
    """A client that acts as `user` when their token was forwarded, else as the app."""
    from databricks.sdk import WorkspaceClient

    config = app_config()
    key = (user.cache_key, config.host or "")
    with _lock:
        cached = _clients.get(key)
        if cached is not None:
            _clients.move_to_end(key)
            return cached
    if user.access_token:
        # auth_type pins the user's token even where the app's OAuth secrets are also in the env.
        client = WorkspaceClient(host=config.host, token=user.access_token, auth_type="pat")
    else:
        client = WorkspaceClient(config=config)
    with _lock:
        client = _clients.setdefault(key, client)
        _clients.move_to_end(key)
        while len(_clients) > MAX_CACHED_CLIENTS:
            _clients.popitem(last=False)
    return client


def forget_clients() -> None:
    """Drop every cached client and the app's config (tests, and after rotating credentials)."""
    global _app_config
    with _lock:
        _clients.clear()
        _app_config = None


class LazyWorkspace:
    """A WorkspaceClient made by `factory` on the first call and kept: building a Databricks seam
    costs nothing and does not import the SDK until the seam is used."""

    def __init__(self, factory: Callable[[], WorkspaceClient]) -> None:
        self._factory = factory
        self._client: WorkspaceClient | None = None
        self._lock = threading.Lock()

    def __call__(self) -> WorkspaceClient:
        with self._lock:
            if self._client is None:
                self._client = self._factory()
            return self._client
