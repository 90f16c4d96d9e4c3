"""A Sheet: a named pointer to data in Unity Catalog (never a copy of it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class SourceKind(StrEnum):
    VOLUME = "volume"
    TABLE = "table"


@dataclass(frozen=True)
class SecondarySource:
    """A volume or table joined to the primary table.

    A volume joins by file name: the file whose stem equals the row's `join_key` value
    (`INV-0001` → `/Volumes/.../INV-0001.pdf`). A table joins `join_key = target_key`.
    """

    kind: SourceKind
    path: str
    join_key: str
    target_key: str | None = None

    def to_json(self) -> dict[str, str]:
        data = {"type": self.kind.value, "path": self.path, "join_key": self.join_key}
        if self.target_key:
            data["target_key"] = self.target_key
        return data

    @classmethod
    def from_json(cls, data: dict[str, str]) -> SecondarySource:
        return cls(SourceKind(data["type"]), data["path"], data["join_key"], data.get("target_key"))


def sources_to_json(sources: tuple[SecondarySource, ...]) -> str:
    return json.dumps([s.to_json() for s in sources])


def sources_from_json(text: str | None) -> tuple[SecondarySource, ...]:
    return tuple(SecondarySource.from_json(item) for item in json.loads(text or "[]"))


@dataclass(frozen=True)
class SheetDraft:
    """What a person fills in to create or edit a sheet."""

    name: str
    primary_table: str
    item_ref_column: str
    description: str = ""
    secondary_sources: tuple[SecondarySource, ...] = ()
    filter_condition: str | None = None
    sample_size: int | None = None

    @property
    def join_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.join_key for s in self.secondary_sources))

    @property
    def volume_sources(self) -> tuple[SecondarySource, ...]:
        return tuple(s for s in self.secondary_sources if s.kind is SourceKind.VOLUME)

    @property
    def table_sources(self) -> tuple[SecondarySource, ...]:
        return tuple(s for s in self.secondary_sources if s.kind is SourceKind.TABLE)


@dataclass(frozen=True)
class Sheet(SheetDraft):
    id: str = ""
    row_count: int | None = None
    created_by: str = ""
    created_at: datetime | None = None
    updated_by: str = ""
    updated_at: datetime | None = None
    row_version: int = 1
    tags: dict[str, str] = field(default_factory=dict)

    def as_draft(self) -> SheetDraft:
        return SheetDraft(
            self.name,
            self.primary_table,
            self.item_ref_column,
            self.description,
            self.secondary_sources,
            self.filter_condition,
            self.sample_size,
        )

    def with_tags(self, tags: dict[str, str]) -> Sheet:
        return replace(self, tags=dict(tags))
