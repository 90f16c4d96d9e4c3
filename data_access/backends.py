"""Builds the outside-world adapters for one backend and one user."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.catalog.browser import CatalogBrowser
from data_access.identity import User
from data_access.settings import Settings
from data_access.sql.duckdb_engine import DuckDbEngine
from data_access.sql.engine import SqlEngine
from data_access.volumes import VolumeFiles


@dataclass(frozen=True)
class Backend:
    settings: Settings
    engine: SqlEngine
    files: VolumeFiles
    catalog: CatalogBrowser
    user: User


def open_local_backend(settings: Settings, user: User) -> Backend:
    from data_access.catalog.local_browser import LocalCatalogBrowser
    from data_access.volumes import LocalVolumeFiles

    engine = DuckDbEngine(settings.home)
    engine.ensure_catalog(settings.catalog)
    if settings.llm_base_url:
        _emulate_ai_query(engine, settings)
    files = LocalVolumeFiles(settings.home)
    return Backend(settings, engine, files, LocalCatalogBrowser(engine, files), user)


def _emulate_ai_query(engine: DuckDbEngine, settings: Settings) -> None:
    """With a model server configured, `ai_query(endpoint, …)` in SQL asks it for that model."""
    from data_access.llm.openai_compatible import OpenAICompatibleChat
    from data_access.sql.ai_query_emulator import install_ai_query

    install_ai_query(
        engine,
        lambda endpoint: OpenAICompatibleChat(settings.llm_base_url, settings.llm_api_key or None, default_model=endpoint),
        settings.model_concurrency,
    )


def open_databricks_backend(settings: Settings, user: User) -> Backend:
    # databricks.sdk takes about 2 s to import: only a Databricks deployment pays for it.
    from data_access.catalog.databricks_browser import DatabricksCatalogBrowser
    from data_access.databricks_client import workspace_client
    from data_access.sql.databricks_engine import DatabricksSqlEngine
    from data_access.volumes_databricks import DatabricksVolumeFiles

    client = workspace_client(user)
    engine = DatabricksSqlEngine.from_workspace(client, settings.warehouse_id, user)
    return Backend(settings, engine, DatabricksVolumeFiles(client), DatabricksCatalogBrowser(client, engine), user)


def open_backend(settings: Settings, user: User) -> Backend:
    if settings.is_databricks:
        return open_databricks_backend(settings, user)
    return open_local_backend(settings, user)
