"""Browsing Unity Catalog through databricks-sdk: catalogs, schemas, tables, volumes and tags.

Table tags are read and written with the Entity Tag Assignments API
(`WorkspaceClient.entity_tag_assignments`, GA, present in SDK 0.156). It answers from the
metastore over REST like `tables.get`, so showing a table's tags needs no running SQL warehouse
(`information_schema.table_tags` would wake one), and setting tags sends keys and values as JSON
fields instead of identifiers spliced into `ALTER TABLE … SET TAGS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from data_access.catalog.browser import (
    CatalogBrowser,
    CatalogObjectNotFound,
    ColumnInfo,
    TableInfo,
    TableSummary,
    VolumeInfo,
)
from data_access.sql.engine import SqlEngine
from data_access.sql.names import TableName

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

_TABLE_ENTITY = "tables"
_VIEW_TYPES = frozenset({"VIEW", "MATERIALIZED_VIEW", "METRIC_VIEW"})
_HIDDEN_SCHEMAS = frozenset({"information_schema"})

# Unity Catalog's limits: keys up to 255 characters without . , - = / : (we allow letters,
# digits, underscores and inner spaces; a key also lands in the request path, so nothing
# else gets through), values up to 1000 characters.
_TAG_KEY = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_ ]{0,253}[A-Za-z0-9_])?\Z")
MAX_TAG_VALUE_LENGTH = 1000
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

class InvalidTagError(ValueError):
    """A tag key or value Unity Catalog would refuse; nothing was changed."""


@contextmanager
def _catalog_errors(what: str) -> Iterator[None]:
    # Imported here: the SDK is loaded by the time a client exists, and not before.
    from databricks.sdk.errors import NotFound, PermissionDenied

    try:
        yield
    except NotFound as error:
        raise CatalogObjectNotFound(f"{what} does not exist.") from error
    except PermissionDenied as error:
        raise CatalogObjectNotFound(f"{what} exists but you do not have permission to see it.") from error


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    for key, value in tags.items():
        if not isinstance(key, str) or not _TAG_KEY.match(key):
            raise InvalidTagError(f"Tag key {key!r} must be 1-255 letters, digits, underscores or inner spaces.")
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE_LENGTH or _CONTROL_CHARACTERS.search(value):
            raise InvalidTagError(f"The value of tag {key!r} must be text of at most {MAX_TAG_VALUE_LENGTH} characters, without control characters.")
    return tags


class DatabricksCatalogBrowser(CatalogBrowser):
    """Acts as whoever `client` acts for, so users see only what their grants let them see.

    `engine` (the same backend's warehouse) is part of the backend's constructor contract;
    browsing needs only the REST API, so it is not used.
    """

    def __init__(self, client: WorkspaceClient, engine: SqlEngine) -> None:
        del engine
        self._client = client

    def list_catalogs(self) -> list[str]:
        with _catalog_errors("The catalog list"):
            return sorted(c.name for c in self._client.catalogs.list() if c.name)

    def list_schemas(self, catalog: str) -> list[str]:
        with _catalog_errors(f"Catalog {catalog}"):
            names = [s.name for s in self._client.schemas.list(catalog_name=catalog) if s.name]
        return sorted(n for n in names if n not in _HIDDEN_SCHEMAS)

    def list_tables(self, catalog: str, schema: str) -> list[TableSummary]:
        with _catalog_errors(f"Schema {catalog}.{schema}"):
            tables = list(self._client.tables.list(catalog_name=catalog, schema_name=schema, omit_columns=True, omit_properties=True))
        return sorted(
            (TableSummary(catalog, schema, t.name, _kind(t.table_type)) for t in tables if t.name),
            key=lambda summary: summary.name,
        )

    def get_table(self, full_name: str) -> TableInfo:
        name = TableName.parse(full_name)  # it goes into the request path: plain identifiers only
        with _catalog_errors(f"Table {name}"):
            table = self._client.tables.get(str(name))
            tags = self._tags(name)
        ordered = sorted(table.columns or (), key=lambda c: c.position if c.position is not None else 0)
        columns = tuple(
            ColumnInfo(c.name, c.type_text or (c.type_name.value.lower() if c.type_name else ""), c.comment)
            for c in ordered
            if c.name
        )
        return TableInfo(name.catalog, name.schema, name.table, _kind(table.table_type), columns, table.comment, tags)

    def list_volumes(self, catalog: str, schema: str) -> list[VolumeInfo]:
        with _catalog_errors(f"Schema {catalog}.{schema}"):
            volumes = list(self._client.volumes.list(catalog_name=catalog, schema_name=schema))
        return sorted(
            (VolumeInfo(catalog, schema, v.name, v.volume_type.value if v.volume_type else "MANAGED") for v in volumes if v.name),
            key=lambda volume: volume.name,
        )

    def set_table_tags(self, full_name: str, tags: dict[str, str]) -> None:
        """Needs APPLY TAG on the table (and USE CATALOG/USE SCHEMA), as the caller."""
        from databricks.sdk.errors import AlreadyExists, ResourceAlreadyExists
        from databricks.sdk.service.catalog import EntityTagAssignment

        name = TableName.parse(full_name)  # it goes into the request path: plain identifiers only
        check_tags(tags)
        assignments = self._client.entity_tag_assignments
        with _catalog_errors(f"Table {name}"):
            for key, value in tags.items():
                assignment = EntityTagAssignment(entity_name=str(name), tag_key=key, entity_type=_TABLE_ENTITY, tag_value=value)
                try:
                    assignments.create(assignment)
                except (AlreadyExists, ResourceAlreadyExists):
                    assignments.update(_TABLE_ENTITY, str(name), key, assignment, update_mask="tag_value")

    def _tags(self, name: TableName) -> dict[str, str]:
        listed = self._client.entity_tag_assignments.list(_TABLE_ENTITY, str(name))
        return {t.tag_key: t.tag_value or "" for t in listed if t.tag_key}


def _kind(table_type: object) -> str:
    value = getattr(table_type, "value", table_type)
    return "VIEW" if value in _VIEW_TYPES else "TABLE"
