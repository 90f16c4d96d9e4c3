"""A sheet's items: rows of its primary table, filtered and sampled, joined to its tables and
volumes. Paging happens in SQL, so a sheet over a large table stays fast."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from data_access.catalog.browser import TableInfo
from data_access.sql.names import TableName, quote
from data_access.volumes import VolumeFileError, VolumeFiles, VolumePath, VolumePathError
from services.core.domain.sheet import SheetDraft
from services.data.sheet_filters import CheckedFilter, check_filter

# A volume's listing is reused for this long, so paging through a preview lists it once.
VOLUME_LISTING_TTL_SECONDS = 60.0
MAX_PAGE_SIZE = 200  # a preview page; bulk work reads items through the job runner instead

PDF_EXTENSIONS = frozenset({".pdf"})
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"})


@dataclass(frozen=True)
class MediaRef:
    path: str

    @property
    def extension(self) -> str:
        name = self.path.rsplit("/", 1)[-1]
        return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""

    @property
    def kind(self) -> str:
        if self.extension in PDF_EXTENSIONS:
            return "pdf"
        if self.extension in IMAGE_EXTENSIONS:
            return "image"
        return "file"


@dataclass(frozen=True)
class SheetItem:
    item_ref: str
    fields: dict[str, Any]
    media: tuple[MediaRef, ...] = field(default=())


@dataclass(frozen=True)
class ItemsPage:
    items: list[SheetItem]
    total: int
    offset: int
    volume_problems: tuple[str, ...] = ()  # why a volume of the sheet is not served (its items show no file)


@dataclass(frozen=True)
class ItemQuery:
    """The SQL that selects a sheet's items, built from checked names and a checked filter."""

    items_sql: str  # every item of the sheet (filtered, sampled), unordered
    select_sql: str  # a page: LIMIT :page_size OFFSET :page_offset
    after_sql: str  # the next :page_size items after item :after (keyset paging for full scans)
    refs_sql: str  # the items whose ref is in :refs
    count_sql: str
    params: dict[str, Any]
    columns: tuple[str, ...] = ()  # the fields of an item: the primary table's, then each joined table's


PARSED_TEXT_COLUMN = "parsed_text"  # a joined volume's file text, once the volume is parsed (DATA: Parse documents)


def build_item_query(
    draft: SheetDraft, primary: TableInfo, joined: dict[str, TableInfo], documents_table: str | None = None
) -> ItemQuery:
    """`documents_table`: the parsed documents (document_files); each joined volume then adds its
    file's parsed text as a column, `parsed_text` (`<volume>__parsed_text` after the first)."""
    checked: CheckedFilter | None = check_filter(draft.filter_condition, primary.column_names, qualifier="p")
    table = TableName.parse(draft.primary_table).quoted
    order = f"p.{quote(draft.item_ref_column)}"
    columns = ["p.*"]
    fields = list(primary.column_names)
    joins = []
    for index, source in enumerate(draft.table_sources):
        alias = f"j{index}"
        info = joined[source.path]
        target = source.target_key or source.join_key
        joins.append(
            f"LEFT JOIN {TableName.parse(source.path).quoted} AS {alias} "
            f"ON p.{quote(source.join_key)} = {alias}.{quote(target)}"
        )
        joined_columns = [c for c in info.column_names if c != target]
        columns += [f"{alias}.{quote(c)} AS {quote(f'{info.name}__{c}')}" for c in joined_columns]
        fields += [f"{info.name}__{c}" for c in joined_columns]
    params: dict[str, Any] = dict(checked.params) if checked else {}
    if documents_table:
        for index, source in enumerate(draft.volume_sources):
            alias, volume = f"d{index}", f"parsed_volume_{index}"
            name = PARSED_TEXT_COLUMN if PARSED_TEXT_COLUMN not in fields else f"{source.path.rsplit('/', 1)[-1]}__{PARSED_TEXT_COLUMN}"
            joins.append(
                f"LEFT JOIN (SELECT file_stem, max(parsed_text) AS parsed_text FROM {documents_table} "
                f"WHERE volume_path = :{volume} AND status = 'parsed' GROUP BY file_stem) AS {alias} "
                f"ON CAST(p.{quote(source.join_key)} AS STRING) = {alias}.file_stem"
            )
            columns.append(f"{alias}.parsed_text AS {quote(name)}")
            fields.append(name)
            params[volume] = _volume_key(source.path)
    where = f"WHERE {checked.sql}" if checked else ""
    base = f"SELECT {', '.join(columns)} FROM {table} AS p {' '.join(joins)} {where}"
    # The sample is the first `sample_size` items in item order: stable across reruns and backends.
    sampled = f"{base} ORDER BY {order} LIMIT :sample_size" if draft.sample_size else base
    if draft.sample_size:
        params["sample_size"] = draft.sample_size
    ref = quote(draft.item_ref_column)
    items = f"SELECT * FROM ({sampled}) AS items"
    return ItemQuery(
        items_sql=items,
        select_sql=f"{items} ORDER BY {ref} LIMIT :page_size OFFSET :page_offset",
        after_sql=f"{items} WHERE (:after IS NULL OR {ref} > :after) ORDER BY {ref} LIMIT :page_size",
        refs_sql=f"{items} WHERE array_contains(:refs, CAST({ref} AS STRING)) ORDER BY {ref}",
        count_sql=f"SELECT count(*) AS n FROM ({sampled}) AS items",
        params=params,
        columns=tuple(fields),
    )


def _volume_key(path: str) -> str:
    """The volume as parsed documents record it (VolumePath's own spelling of it)."""
    try:
        return str(VolumePath.parse(path))
    except VolumePathError:
        return path  # a path no volume has: the join finds nothing, as it should


@dataclass(frozen=True)
class _Listing:
    listed_at: float
    stems: dict[str, list[str]]
    problem: str | None  # why the volume is not served, when it is not


class VolumeIndex:
    """File stem → path for each volume a sheet joins, listed once per TTL."""

    def __init__(self, files: VolumeFiles) -> None:
        self._files = files
        self._cache: dict[str, _Listing] = {}
        self._lock = threading.Lock()

    def stems(self, volume_path: str) -> dict[str, list[str]]:
        return self._listing(volume_path).stems

    def forget(self, volume_paths: Iterable[str]) -> None:
        """List these volumes afresh next time (files just landed in them)."""
        with self._lock:
            for path in volume_paths:
                self._cache.pop(path, None)

    def problems(self, volume_paths: Iterable[str]) -> tuple[str, ...]:
        """Why any of these volumes is not served (a link out of the store, say)."""
        return tuple(p for p in (self._listing(path).problem for path in volume_paths) if p)

    def _listing(self, volume_path: str) -> _Listing:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(volume_path)
            if cached and now - cached.listed_at < VOLUME_LISTING_TTL_SECONDS:
                return cached
        problem = None
        try:
            entries = self._files.list_directory(volume_path)
        except VolumeFileError:
            entries = []
        except VolumePathError as error:
            entries, problem = [], str(error)
        index: dict[str, list[str]] = {}
        for entry in entries:
            if not entry.is_directory:
                index.setdefault(entry.name.rsplit(".", 1)[0], []).append(entry.path)
        listing = _Listing(now, index, problem)
        with self._lock:
            self._cache[volume_path] = listing
        return listing


def attach_media(draft: SheetDraft, rows: list[dict[str, Any]], volumes: VolumeIndex) -> list[SheetItem]:
    indexes = [(source, volumes.stems(source.path)) for source in draft.volume_sources]
    items = []
    for row in rows:
        media = []
        for source, stems in indexes:
            key = row.get(source.join_key)
            media += [MediaRef(p) for p in stems.get(str(key), [])] if key is not None else []
        items.append(SheetItem(str(row[draft.item_ref_column]), row, tuple(media)))
    return items

