"""Browsing Unity Catalog from the DATA page: what is there, what it holds, how it is tagged."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from data_access.catalog.browser import CatalogObjectNotFound, TableInfo, TableSummary, VolumeInfo
from data_access.sql.engine import SqlError
from data_access.sql.names import InvalidNameError, TableName
from data_access.volumes import VolumeEntry, VolumeFileError, VolumePathError
from services.core.errors import NotFoundError, ValidationError
from services.core.workbench import Workbench

TABLE_PREVIEW_ROWS = 20  # enough to recognise a table; the sheet preview pages through items
VOLUME_LISTING_LIMIT = 200  # a volume can hold millions of files; the browser shows the first ones


@dataclass(frozen=True)
class TableDetails:
    info: TableInfo
    row_count: int
    preview: pd.DataFrame
    unity_catalog_url: str | None


def catalogs(workbench: Workbench) -> list[str]:
    return workbench.backend.catalog.list_catalogs()


def schemas(workbench: Workbench, catalog: str) -> list[str]:
    return workbench.backend.catalog.list_schemas(catalog)


def tables(workbench: Workbench, catalog: str, schema: str) -> list[TableSummary]:
    return workbench.backend.catalog.list_tables(catalog, schema)


def volumes(workbench: Workbench, catalog: str, schema: str) -> list[VolumeInfo]:
    return workbench.backend.catalog.list_volumes(catalog, schema)


def table_columns(workbench: Workbench, full_name: str) -> list[str]:
    return _table_info(workbench, full_name).column_names


def _table_info(workbench: Workbench, full_name: str) -> TableInfo:
    try:
        TableName.parse(full_name)
        return workbench.backend.catalog.get_table(full_name)
    except InvalidNameError as error:
        raise ValidationError(str(error)) from error
    except CatalogObjectNotFound as error:
        raise NotFoundError(f"Table {full_name} does not exist or you cannot see it.") from error


def table_details(workbench: Workbench, full_name: str) -> TableDetails:
    info = _table_info(workbench, full_name)
    quoted = TableName.parse(full_name).quoted
    engine = workbench.backend.engine
    try:
        row_count = int(engine.scalar(f"SELECT count(*) AS n FROM {quoted}") or 0)
        preview = engine.query_df(f"SELECT * FROM {quoted} LIMIT :n", {"n": TABLE_PREVIEW_ROWS})
    except SqlError as error:
        raise ValidationError(f"{full_name} could not be read: {error}") from error
    return TableDetails(info, row_count, preview, unity_catalog_url(workbench, full_name))


def volume_files(workbench: Workbench, volume_path: str) -> list[VolumeEntry]:
    try:
        return workbench.backend.files.list_directory(volume_path)[:VOLUME_LISTING_LIMIT]
    except (VolumeFileError, VolumePathError) as error:
        raise ValidationError(str(error)) from error


def unity_catalog_url(workbench: Workbench, full_name: str) -> str | None:
    """Catalog Explorer's page for a table, when running against a workspace."""
    settings = workbench.settings
    if not settings.is_databricks or not settings.databricks_host:
        return None
    name = TableName.parse(full_name)
    return f"{settings.databricks_host}/explore/data/{name.catalog}/{name.schema}/{name.table}"
