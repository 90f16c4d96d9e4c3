"""The catalog browser seam."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class CatalogObjectNotFound(LookupError):
    """A catalog, schema, table or volume does not exist (or is not visible to the user)."""


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type_name: str
    comment: str | None = None


@dataclass(frozen=True)
class TableSummary:
    catalog: str
    schema: str
    name: str
    table_type: str = "TABLE"

    @property
    def full_name(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.name}"


@dataclass(frozen=True)
class TableInfo(TableSummary):
    columns: tuple[ColumnInfo, ...] = ()
    comment: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)


@dataclass(frozen=True)
class VolumeInfo:
    catalog: str
    schema: str
    name: str
    volume_type: str = "MANAGED"

    @property
    def path(self) -> str:
        return f"/Volumes/{self.catalog}/{self.schema}/{self.name}"


class CatalogBrowser(ABC):
    @abstractmethod
    def list_catalogs(self) -> list[str]: ...

    @abstractmethod
    def list_schemas(self, catalog: str) -> list[str]: ...

    @abstractmethod
    def list_tables(self, catalog: str, schema: str) -> list[TableSummary]: ...

    @abstractmethod
    def get_table(self, full_name: str) -> TableInfo:
        """Columns and tags of one table; raises CatalogObjectNotFound."""

    @abstractmethod
    def list_volumes(self, catalog: str, schema: str) -> list[VolumeInfo]: ...

    @abstractmethod
    def set_table_tags(self, full_name: str, tags: dict[str, str]) -> None:
        """Set (add or overwrite) Unity Catalog tags on a table; other tags stay as they are."""

    def table_exists(self, full_name: str) -> bool:
        try:
            self.get_table(full_name)
        except CatalogObjectNotFound:
            return False
        return True
