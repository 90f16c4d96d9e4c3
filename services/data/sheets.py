"""Sheets: create, edit, duplicate, delete, and read their items.

Every draft is checked against the catalog before anything is written: the table exists,
the item and join columns exist, volumes parse and exist, the filter is one safe condition.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from data_access.catalog.browser import CatalogObjectNotFound, TableInfo
from data_access.sql.engine import SqlError
from data_access.sql.names import InvalidNameError, TableName, quote
from data_access.volumes import VolumePath, VolumePathError, check_allowed
from services.core.domain.sheet import Sheet, SheetDraft, SourceKind
from services.core.errors import NotFoundError, StaleWriteError, ValidationError
from services.core.workbench import Workbench
from services.data.sheet_items import (
    MAX_PAGE_SIZE,
    ItemQuery,
    ItemsPage,
    MediaRef,
    SheetItem,
    VolumeIndex,
    attach_media,
    build_item_query,
)
from services.data.sheets_store import SheetsStore

MAX_NAME_LENGTH = 120
MAX_SAMPLE_SIZE = 10_000_000


@dataclass(frozen=True)
class CheckedDraft:
    draft: SheetDraft
    primary: TableInfo
    joined: dict[str, TableInfo]
    query: ItemQuery


class SheetService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._store = SheetsStore(workbench.backend.engine, workbench.table("sheets"))
        self._volumes = VolumeIndex(workbench.backend.files)

    # -- reading ---------------------------------------------------------------------
    def list(self) -> list[Sheet]:
        return self._store.list()

    def get(self, sheet_id: str) -> Sheet:
        sheet = self._store.get(sheet_id)
        if sheet is None:
            raise NotFoundError(f"Sheet {sheet_id} does not exist; it may have been deleted.")
        return sheet

    def with_tags(self, sheet: Sheet) -> Sheet:
        """The sheet with its primary table's Unity Catalog tags (which drive governance)."""
        try:
            return sheet.with_tags(self._wb.backend.catalog.get_table(sheet.primary_table).tags)
        except CatalogObjectNotFound:
            return sheet

    def count(self) -> int:
        return self._store.count()

    # -- checking --------------------------------------------------------------------
    def check(self, draft: SheetDraft, sheet_id: str | None = None) -> CheckedDraft:
        draft = _normalised(draft)
        _check_name(draft.name)
        if self._store.name_taken(draft.name, sheet_id):
            raise ValidationError(f"A sheet named '{draft.name}' already exists.", "name")
        primary = self._table(draft.primary_table, "primary_table")
        _require_column(primary, draft.item_ref_column, "item_ref_column", "item column")
        joined = {}
        for source in draft.secondary_sources:
            _require_column(primary, source.join_key, "secondary_sources", "join key")
            if source.kind is SourceKind.VOLUME:
                self._check_volume(source.path)
            else:
                joined[source.path] = self._table(source.path, "secondary_sources")
                _require_column(joined[source.path], source.target_key or source.join_key, "secondary_sources", "join key")
        if draft.sample_size is not None and not 1 <= draft.sample_size <= MAX_SAMPLE_SIZE:
            raise ValidationError(f"Sample size must be between 1 and {MAX_SAMPLE_SIZE:,}.", "sample_size")
        return CheckedDraft(draft, primary, joined, _item_query(draft, primary, joined, self._wb.table("document_files")))

    def _table(self, name: str, field: str) -> TableInfo:
        try:
            parsed = TableName.parse(name)
            self._refuse_own_table(parsed, field)
            return self._wb.backend.catalog.get_table(name)
        except InvalidNameError as error:
            raise ValidationError(str(error), field) from error
        except CatalogObjectNotFound as error:
            raise ValidationError(f"Table {name} does not exist or you cannot see it.", field) from error

    def _refuse_own_table(self, name: TableName, field: str) -> None:
        """The workbench's own records (labels, pairs, audit) are not source data: a sheet over
        them would let labels be labeled and governance rows flow into training sets."""
        settings = self._wb.settings
        if (name.catalog.lower(), name.schema.lower()) == (settings.catalog.lower(), settings.schema.lower()):
            raise ValidationError(
                f"{name} is one of the workbench's own tables; a sheet points at source data, not at them.", field
            )

    def _check_volume(self, path: str) -> None:
        try:
            parsed = VolumePath.parse(path)
        except VolumePathError as error:
            raise ValidationError(str(error), "secondary_sources") from error
        if parsed.relative:
            raise ValidationError(f"{path} must be a volume itself, not a folder inside it.", "secondary_sources")
        volumes = self._wb.backend.catalog.list_volumes(parsed.catalog, parsed.schema)
        if parsed.volume not in {v.name for v in volumes}:
            raise ValidationError(f"Volume {path} does not exist or you cannot see it.", "secondary_sources")
        if problem := self._volumes.problems([str(parsed)]):
            raise ValidationError(problem[0], "secondary_sources")

    # -- writing ---------------------------------------------------------------------
    def create(self, draft: SheetDraft) -> Sheet:
        checked = self.check(draft)
        sheet_id = str(uuid.uuid4())
        self._store.insert(sheet_id, checked.draft, self._count(checked.query), self._wb.user.email)
        return self.get(sheet_id)

    def update(self, sheet_id: str, draft: SheetDraft, read_version: int) -> Sheet:
        current = self.get(sheet_id)
        checked = self.check(draft, sheet_id)
        if not self._store.update(sheet_id, checked.draft, self._count(checked.query), self._wb.user.email, read_version):
            latest = self.get(sheet_id)
            raise StaleWriteError(
                f"{latest.updated_by or 'Someone'} changed '{current.name}' after you opened it "
                f"(now version {latest.row_version}). Reload to see their change; yours was not saved."
            )
        return self.get(sheet_id)

    def duplicate(self, sheet_id: str) -> Sheet:
        source = self.get(sheet_id)
        names = {s.name.lower() for s in self.list()}
        name, copy = f"{source.name} (copy)", 2
        while name.lower() in names:
            name, copy = f"{source.name} (copy {copy})", copy + 1
        return self.create(replace(source.as_draft(), name=name[:MAX_NAME_LENGTH]))

    def delete(self, sheet_id: str) -> None:
        self.get(sheet_id)
        self._store.delete(sheet_id)

    # -- items -----------------------------------------------------------------------
    def items(self, sheet: SheetDraft, offset: int = 0, limit: int = 50) -> ItemsPage:
        checked = self.check_for_reading(sheet)
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        offset = max(0, offset)
        engine = self._wb.backend.engine
        params = {**checked.query.params, "page_size": limit, "page_offset": offset}
        try:
            rows = engine.query(checked.query.select_sql, params)
            total = int(engine.scalar(checked.query.count_sql, checked.query.params) or 0)
        except SqlError as error:
            raise ValidationError(f"The sheet's data could not be read: {error}") from error
        return self._page(checked.draft, rows, total, offset)

    def iter_items(self, sheet: SheetDraft, batch_size: int = 5000) -> Iterator[list[SheetItem]]:
        """Every item in item order, in batches, one keyset query each (no OFFSET rescans)."""
        checked = self.check_for_reading(sheet)
        engine, after = self._wb.backend.engine, None
        while True:
            try:
                rows = engine.query(checked.query.after_sql, {**checked.query.params, "after": after, "page_size": batch_size})
            except SqlError as error:
                raise ValidationError(f"The sheet's data could not be read: {error}") from error
            if not rows:
                return
            yield attach_media(checked.draft, rows, self._volumes)
            after = rows[-1][checked.draft.item_ref_column]
            if len(rows) < batch_size:
                return

    def items_for_refs(self, sheet: SheetDraft, refs: Iterable[str]) -> list[SheetItem]:
        checked = self.check_for_reading(sheet)
        wanted = sorted({str(r) for r in refs})
        if not wanted:
            return []
        rows = self._wb.backend.engine.query(checked.query.refs_sql, {**checked.query.params, "refs": wanted})
        return attach_media(checked.draft, rows, self._volumes)

    def media_for(self, sheet: SheetDraft, paths: Iterable[str]) -> tuple[MediaRef, ...]:
        """Stored file paths (a pair's media) as media of this sheet; a path outside the
        sheet's volumes is refused, so a stored path can never reach other files."""
        roots = [s.path for s in sheet.volume_sources]
        try:
            return tuple(MediaRef(str(check_allowed(path, roots))) for path in paths)
        except VolumePathError as error:
            raise ValidationError(str(error)) from error

    def _without_label(self, label_type: str) -> tuple[str, dict[str, Any]]:
        """An item has no canonical label of `label_type` (the Canonical Labeling Tool's filter)."""
        ref = "CAST(items.{ref} AS STRING)"  # formatted with the quoted item column by the caller
        condition = (
            f"NOT EXISTS (SELECT 1 FROM {self._wb.table('canonical_labels')} AS cl WHERE cl.sheet_id = :label_sheet_id "
            f"AND cl.label_type = :without_label_type AND cl.item_ref = {ref})"
        )
        return condition, {"without_label_type": label_type}

    def unlabeled_items(self, sheet: Sheet, label_type: str, offset: int = 0, limit: int = 50) -> ItemsPage:
        """A page of the items with no canonical label of `label_type`, in item order, and how many there are."""
        checked = self.check_for_reading(sheet)
        ref = quote(sheet.item_ref_column)
        condition, extra = self._without_label(label_type)
        condition = condition.format(ref=ref)
        params = {**checked.query.params, **extra, "label_sheet_id": sheet.id}
        engine = self._wb.backend.engine
        rows = engine.query(
            f"SELECT items.* FROM ({checked.query.items_sql}) AS items WHERE {condition} ORDER BY items.{ref} "
            "LIMIT :page_size OFFSET :page_offset",
            {**params, "page_size": max(1, min(limit, MAX_PAGE_SIZE)), "page_offset": max(0, offset)},
        )
        total = int(engine.scalar(f"SELECT count(*) AS n FROM ({checked.query.items_sql}) AS items WHERE {condition}", params) or 0)
        return self._page(checked.draft, rows, total, offset)

    def _page(self, draft: SheetDraft, rows: list[dict[str, Any]], total: int, offset: int) -> ItemsPage:
        items = attach_media(draft, rows, self._volumes)
        return ItemsPage(items, total, offset, self._volumes.problems(s.path for s in draft.volume_sources))

    def neighbours(self, sheet: Sheet, item_ref: str, without_label_type: str | None = None) -> tuple[str | None, str | None]:
        """The items just before and after `item_ref` in item order (only those with no label of
        `without_label_type`, when given): one window query, whatever the sheet's size."""
        checked = self.check_for_reading(sheet)
        ref = quote(sheet.item_ref_column)
        params: dict[str, Any] = {**checked.query.params, "current": str(item_ref)}
        where = ""
        if without_label_type:
            condition, extra = self._without_label(without_label_type)
            where = f"WHERE CAST(items.{ref} AS STRING) = :current OR {condition.format(ref=ref)}"
            params |= {**extra, "label_sheet_id": sheet.id}
        row = self._wb.backend.engine.query_one(
            f"SELECT previous_ref, next_ref FROM (SELECT CAST(items.{ref} AS STRING) AS r, "
            f"lag(CAST(items.{ref} AS STRING)) OVER (ORDER BY items.{ref}) AS previous_ref, "
            f"lead(CAST(items.{ref} AS STRING)) OVER (ORDER BY items.{ref}) AS next_ref "
            f"FROM ({checked.query.items_sql}) AS items {where}) AS w WHERE r = :current",
            params,
        )
        return (row["previous_ref"], row["next_ref"]) if row else (None, None)

    def refresh_count(self, sheet: Sheet) -> Sheet:
        """Count the sheet's items again (after new files or rows landed) and store the count; its
        volumes are listed afresh, so new files join their items at once."""
        self._volumes.forget(s.path for s in sheet.volume_sources)
        count = self.item_count(sheet)
        if count != sheet.row_count:
            self._store.set_row_count(sheet.id, count)
        return replace(sheet, row_count=count)

    def item_count(self, sheet: SheetDraft) -> int:
        return self._count(self.check_for_reading(sheet).query)

    def check_for_reading(self, sheet: SheetDraft) -> CheckedDraft:
        """Like check, without the name rules (a saved sheet's name is already its own)."""
        primary = self._table(sheet.primary_table, "primary_table")
        joined = {s.path: self._table(s.path, "secondary_sources") for s in sheet.table_sources}
        return CheckedDraft(sheet, primary, joined, _item_query(sheet, primary, joined, self._wb.table("document_files")))

    def _count(self, query: ItemQuery) -> int:
        try:
            return int(self._wb.backend.engine.scalar(query.count_sql, query.params) or 0)
        except SqlError as error:
            raise ValidationError(f"The filter could not run on this table: {error}", "filter_condition") from error


def _item_query(draft: SheetDraft, primary: TableInfo, joined: dict[str, TableInfo], documents_table: str) -> ItemQuery:
    try:
        return build_item_query(draft, primary, joined, documents_table)
    except InvalidNameError as error:  # a column no SQL can quote (a line break in its name)
        raise ValidationError(str(error)) from error


def _normalised(draft: SheetDraft) -> SheetDraft:
    return replace(
        draft,
        name=draft.name.strip(),
        description=draft.description.strip(),
        primary_table=draft.primary_table.strip(),
        item_ref_column=draft.item_ref_column.strip(),
        filter_condition=(draft.filter_condition or "").strip() or None,
    )


def _check_name(name: str) -> None:
    if not name:
        raise ValidationError("Give the sheet a name.", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"The name is longer than {MAX_NAME_LENGTH} characters.", "name")


def _require_column(table: TableInfo, column: str, field: str, what: str) -> None:
    if not column or table.column(column) is None:
        raise ValidationError(f"The {what} '{column}' is not a column of {table.full_name}.", field)
