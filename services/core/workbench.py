"""Opening the workbench: adapters for the chosen backend and the schema.

Demo data is a higher layer's business: `services.demo.open_demo_ready_workbench` opens
through here and then seeds an empty embedded store.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from data_access.backends import Backend, open_backend
from data_access.identity import MissingIdentityError as MissingIdentityError  # for pages: who is asking is unknown
from data_access.identity import User, current_user
from data_access.schema.migrate import migrate
from data_access.settings import Settings, load_settings
from data_access.sql.duckdb_engine import StoreUnavailableError
from services.core.errors import UnavailableError

_prepare_lock = threading.Lock()
_prepared: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Workbench:
    """Everything a service needs, for one user: passed to services, never a global."""

    backend: Backend

    @property
    def settings(self) -> Settings:
        return self.backend.settings

    @property
    def user(self) -> User:
        return self.backend.user

    def table(self, name: str) -> str:
        return self.backend.settings.table(name)


def _prepare_store(workbench: Workbench) -> None:
    """Migrate the schema and recover interrupted jobs (once a process per store)."""
    key = (workbench.settings.backend, str(workbench.settings.home.resolve()))
    with _prepare_lock:
        if key in _prepared:
            return
        migrate(workbench.backend.engine, workbench.settings)
        # Jobs a previous process was running when it stopped read as interrupted, ready to resume.
        from services.core.jobs import JobRunner

        JobRunner(workbench).recover_interrupted()
        _prepared.add(key)


def open_workbench(settings: Settings | None = None, headers: Mapping[str, str] | None = None) -> Workbench:
    """Raises UnavailableError when the local store is held by another process or cannot be written."""
    settings = settings or load_settings()
    try:
        workbench = Workbench(open_backend(settings, current_user(settings, headers)))
    except StoreUnavailableError as error:
        raise UnavailableError(str(error)) from error
    _prepare_store(workbench)
    return workbench


def forget_prepared_stores() -> None:
    """For tests and demo reset: the next open migrates and seeds again."""
    with _prepare_lock:
        _prepared.clear()


def session_cache_key(headers: Mapping[str, str] | None = None, settings: Settings | None = None) -> str:
    """What distinguishes one cached workbench from another: backend, store and user."""
    settings = settings or load_settings()
    return f"{settings.backend}|{settings.home.resolve()}|{current_user(settings, headers).cache_key}"
