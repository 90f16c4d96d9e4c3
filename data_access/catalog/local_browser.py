"""Catalog browsing on the embedded store: DuckDB's information_schema, a local tag table
standing in for Unity Catalog tags, and the volume mirror's directories."""

from __future__ import annotations

from data_access.catalog.browser import (
    CatalogBrowser,
    CatalogObjectNotFound,
    ColumnInfo,
    TableInfo,
    TableSummary,
    VolumeInfo,
)
from data_access.sql.duckdb_engine import DuckDbEngine
from data_access.sql.names import TableName
from data_access.volumes import LocalVolumeFiles

_TAG_TABLE = "main.uc_table_tags"


class LocalCatalogBrowser(CatalogBrowser):
    def __init__(self, engine: DuckDbEngine, files: LocalVolumeFiles) -> None:
        self._engine = engine
        self._files = files
        engine.raw(
            f"CREATE TABLE IF NOT EXISTS {_TAG_TABLE} (catalog_name VARCHAR, schema_name VARCHAR, "
            "table_name VARCHAR, tag_name VARCHAR, tag_value VARCHAR, "
            "PRIMARY KEY (catalog_name, schema_name, table_name, tag_name))"
        )

    def list_catalogs(self) -> list[str]:
        return self._engine.attached_catalogs()

    def list_schemas(self, catalog: str) -> list[str]:
        rows = self._engine.raw(
            "SELECT schema_name FROM information_schema.schemata s WHERE catalog_name = ? "
            "AND schema_name NOT IN ('information_schema', 'pg_catalog') "
            # DuckDB gives every database a `main` schema; Unity Catalog has no such thing.
            "AND (schema_name <> 'main' OR EXISTS (SELECT 1 FROM information_schema.tables t "
            "WHERE t.table_catalog = s.catalog_name AND t.table_schema = 'main')) ORDER BY 1",
            [catalog],
        )
        return [r[0] for r in rows]

    def list_tables(self, catalog: str, schema: str) -> list[TableSummary]:
        rows = self._engine.raw(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_catalog = ? AND table_schema = ? ORDER BY 1",
            [catalog, schema],
        )
        return [TableSummary(catalog, schema, name, "VIEW" if "VIEW" in kind else "TABLE") for name, kind in rows]

    def get_table(self, full_name: str) -> TableInfo:
        name = TableName.parse(full_name)
        rows = self._engine.raw(
            "SELECT column_name, data_type, t.table_type FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
            "WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [name.catalog, name.schema, name.table],
        )
        if not rows:
            raise CatalogObjectNotFound(f"Table {full_name} does not exist.")
        columns = tuple(ColumnInfo(column, data_type) for column, data_type, _ in rows)
        kind = "VIEW" if "VIEW" in rows[0][2] else "TABLE"
        return TableInfo(name.catalog, name.schema, name.table, kind, columns, None, self.table_tags(name))

    def table_tags(self, name: TableName) -> dict[str, str]:
        rows = self._engine.raw(
            f"SELECT tag_name, tag_value FROM {_TAG_TABLE} WHERE catalog_name = ? AND schema_name = ? "
            "AND table_name = ? ORDER BY tag_name",
            [name.catalog, name.schema, name.table],
        )
        return {tag: value or "" for tag, value in rows}

    def set_table_tags(self, full_name: str, tags: dict[str, str]) -> None:
        """Locally, tags are set here (as `ALTER TABLE … SET TAGS` would on Databricks)."""
        name = TableName.parse(full_name)
        for tag, value in tags.items():
            self._engine.raw(
                f"INSERT OR REPLACE INTO {_TAG_TABLE} VALUES (?, ?, ?, ?, ?)",
                [name.catalog, name.schema, name.table, tag, value],
            )

    def list_volumes(self, catalog: str, schema: str) -> list[VolumeInfo]:
        return [VolumeInfo(catalog, schema, volume) for volume in self._files.volume_names(catalog, schema)]
