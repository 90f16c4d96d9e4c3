"""Mode B: an expert labels a sheet's items for one label type, item by item.

Browsing reads a page of items with what they are already labeled with. "All" pages in SQL;
filters that name labels (labeled, holding a label of a type) start from the labels' item
refs (a query on the labels table) and read only those items; "unlabeled" walks the sheet
in item order with keyset batches and skips labeled refs, so it reads no further than the
page it shows. Saving checks the label against its schema before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.core.domain.canonical_label import CanonicalLabel, ChangeKind, LabelContent, LabelKey, LabelVersion
from services.core.domain.governance import UsageConstraints
from services.core.domain.sheet import Sheet
from services.core.domain.template import LabelType, is_valid_label_type
from services.core.errors import NotFoundError, ValidationError
from services.core.governance import checked_constraints, constraints_from_tags
from services.core.workbench import Workbench
from services.data.sheet_items import MediaRef, SheetItem
from services.data.sheets import SheetService
from services.data.source_previews import Box, image_size, image_thumbnail
from services.labels.canonical_labels import CanonicalLabelService, LabelingProgress
from services.labels.constraint_audit import AuditEntry, ConstraintChange, LabelConstraintAudit, governance_differs
from services.labels.label_schemas import (
    BOX_COORDINATES,
    BOXES_KEY,
    FormKind,
    ImageSize,
    LabelSchema,
    LabelSchemaService,
    check_label,
)
from services.labels.labeled_items_store import LabeledItemsStore

SUMMARY_FIELDS = 4  # fields shown for an item without a file
DRAWING_MAX_SIDE = 1024  # larger images are drawn on scaled down; boxes still come back in full-size pixels


class StatusFilter(StrEnum):
    ALL = "all"
    UNLABELED = "unlabeled"
    LABELED = "labeled"


class Step(StrEnum):
    PREVIOUS = "previous"  # the item before, among those the filter shows
    NEXT = "next"  # the item after, among those the filter shows
    SKIP = "skip"  # leave this item as it is: the next item without a label of this type


@dataclass(frozen=True)
class BrowseFilter:
    status: StatusFilter = StatusFilter.ALL  # relative to the session's label type
    has_label_type: str | None = None  # only items that hold a label of this type


@dataclass(frozen=True)
class BrowsedItem:
    item: SheetItem
    labeled: bool  # holds a label of the session's label type
    label_types: tuple[str, ...]  # every label type the item holds

    @property
    def item_ref(self) -> str:
        return self.item.item_ref

    @property
    def preview_kind(self) -> str:
        """pdf, image, file (a file that cannot be drawn) or row (no file: the row is the source)."""
        return self.item.media[0].kind if self.item.media else "row"

    @property
    def summary(self) -> str:
        shown = [(k, v) for k, v in self.item.fields.items() if v is not None and not (isinstance(v, str) and len(v) > 80)]
        return " · ".join(f"{k}: {v}" for k, v in shown[:SUMMARY_FIELDS])


@dataclass(frozen=True)
class BrowsePage:
    items: list[BrowsedItem]
    total: int
    offset: int


@dataclass(frozen=True)
class Neighbours:
    previous: str | None
    next: str | None


class LabelingSession:
    def __init__(self, workbench: Workbench, sheet: Sheet, label_type: str) -> None:
        self._wb = workbench
        self.sheet = sheet
        self.label_type = label_type
        self._sheets = SheetService(workbench)
        self._labels = CanonicalLabelService(workbench)
        self._schemas = LabelSchemaService(workbench)
        self._labeled_items = LabeledItemsStore(workbench.backend.engine, workbench.table("canonical_labels"))

    # -- what is being labeled ------------------------------------------------------------
    def key(self, item_ref: str) -> LabelKey:
        return LabelKey(self.sheet.id, item_ref, self.label_type)

    def schema(self) -> LabelSchema:
        return self._schemas.for_type(self.sheet.id, self.label_type)

    def progress(self) -> LabelingProgress:
        return self._labels.progress(self.sheet.id, self.label_type, self._sheets.item_count(self.sheet))

    def default_constraints(self) -> UsageConstraints:
        """What a new label may be used for unless the expert says otherwise: the source's tags decide."""
        return constraints_from_tags(self.sheet.tags)

    def label(self, item_ref: str) -> CanonicalLabel | None:
        return self._labels.find(self.key(item_ref))

    def labelsets(self, item_ref: str) -> list[CanonicalLabel]:
        return self._labels.for_item(self.sheet.id, item_ref)

    def label_types_on_sheet(self) -> list[str]:
        return list(self._labels.label_types(self.sheet.id))

    def history(self, label_id: str) -> list[LabelVersion]:
        return self._labels.history(label_id)

    def audit(self, label_id: str) -> list[AuditEntry]:
        return LabelConstraintAudit(self._wb).for_label(label_id)

    def item(self, item_ref: str) -> SheetItem:
        found = self._sheets.items_for_refs(self.sheet, [item_ref])
        if not found:
            raise NotFoundError(f"{item_ref} is not an item of '{self.sheet.name}'.")
        return found[0]

    # -- browsing -------------------------------------------------------------------------
    def page(self, browse: BrowseFilter, offset: int = 0, limit: int = 24) -> BrowsePage:
        offset, limit = max(0, offset), max(1, limit)
        if browse.status is StatusFilter.ALL and browse.has_label_type is None:
            result = self._sheets.items(self.sheet, offset, limit)
            return BrowsePage(self._browsed(result.items), result.total, result.offset)
        refs = self._matching_refs(browse)
        if refs is not None:
            page_refs = sorted(refs)[offset : offset + limit]
            return BrowsePage(self._browsed(self._sheets.items_for_refs(self.sheet, page_refs)), len(refs), offset)
        result = self._sheets.unlabeled_items(self.sheet, self.label_type, offset, limit)
        return BrowsePage(self._browsed(result.items), result.total, offset)

    def neighbours(self, browse: BrowseFilter, item_ref: str) -> Neighbours:
        """The items before and after `item_ref` among those the filter shows, in item order."""
        refs = self._matching_refs(browse)
        if refs is not None:
            ordered = [i.item_ref for i in self._sheets.items_for_refs(self.sheet, refs | {item_ref})]
            if item_ref not in ordered:
                return Neighbours(None, None)
            at = ordered.index(item_ref)
            before = [r for r in ordered[:at] if r in refs]
            after = [r for r in ordered[at + 1 :] if r in refs]
            return Neighbours(before[-1] if before else None, after[0] if after else None)
        without = self.label_type if browse.status is StatusFilter.UNLABELED else None
        return Neighbours(*self._sheets.neighbours(self.sheet, item_ref, without))

    def step(self, step: Step, item_ref: str, browse: BrowseFilter) -> str | None:
        """Where Previous, Next or Skip leads from `item_ref`; None at the end of the list."""
        if step is Step.SKIP:
            return self.next_unlabeled(item_ref)
        around = self.neighbours(browse, item_ref)
        return around.previous if step is Step.PREVIOUS else around.next

    def next_unlabeled(self, after: str | None = None) -> str | None:
        """The first item without a label of this type after `after` in item order, else from the start."""
        unlabeled = BrowseFilter(StatusFilter.UNLABELED)
        if after is not None:
            following = self.neighbours(unlabeled, after).next
            if following is not None:
                return following
        first = self.page(unlabeled, 0, 1).items
        return first[0].item_ref if first and first[0].item_ref != after else None

    def _matching_refs(self, browse: BrowseFilter) -> set[str] | None:
        """The refs a filter shows when labels decide them; None when it is "every unlabeled item"."""
        holding = self._labels.labeled_refs(self.sheet.id, browse.has_label_type) if browse.has_label_type else None
        if browse.status is StatusFilter.ALL:
            return holding
        labeled = self._labels.labeled_refs(self.sheet.id, self.label_type)
        if browse.status is StatusFilter.LABELED:
            return labeled if holding is None else labeled & holding
        return None if holding is None else holding - labeled

    def _browsed(self, items: list[SheetItem]) -> list[BrowsedItem]:
        types = self._labeled_items.label_types_of(self.sheet.id, [i.item_ref for i in items])
        return [BrowsedItem(i, self.label_type in types.get(i.item_ref, ()), types.get(i.item_ref, ())) for i in items]

    # -- the item's image -----------------------------------------------------------------
    def image_size(self, item: SheetItem) -> ImageSize | None:
        return item_image_size(self._wb, item)

    def drawing_image(self, item: SheetItem, max_side: int = DRAWING_MAX_SIDE) -> tuple[bytes, ImageSize] | None:
        """A PNG of the item's first image to draw boxes on, and the image's own size."""
        return drawing_image(self._wb, item.media, max_side)

    # -- saving ---------------------------------------------------------------------------
    def save(
        self,
        item_ref: str,
        label_data: dict[str, Any],
        read_version: int,
        confidence: str = "high",
        notes: str = "",
        constraints: UsageConstraints | None = None,
    ) -> CanonicalLabel:
        """Check the label against its schema (and the item's image), then create or change it.

        `read_version` is the version the expert saw (0 for a new label); a label changed by
        someone else meanwhile is refused with StaleWriteError and nothing is written.
        """
        if not is_valid_label_type(self.label_type):
            raise ValidationError(f"'{self.label_type}' cannot be a label type: use lowercase letters, digits and underscores.")
        item = self.item(item_ref)
        schema = self.schema()
        image = self.image_size(item) if schema.kind is FormKind.BOXES else None
        if schema.kind is FormKind.BOXES and image is None:
            raise ValidationError(f"A {self.label_type} label is boxes on an image, and {item_ref} has no image.")
        check_label(schema, label_data, image)
        current = self.label(item_ref)
        # A new label starts from what the source's tags allow: departing from that is a change to audit.
        before = current.constraints if current else self.default_constraints()
        constraints = constraints or before
        if governance_differs(before, constraints) and constraints.usage_reason.strip() in ("", before.usage_reason.strip()):
            raise ValidationError(
                "You changed what this label may be used for: say why in the reason; it is kept in the audit trail."
            )
        constraints = checked_constraints(constraints, reason_required=False)
        content = LabelContent(label_data, confidence, notes, constraints)
        saved = self._labels.save(self.key(item_ref), content, read_version, ChangeKind.EDIT)
        LabelConstraintAudit(self._wb).record([ConstraintChange(saved.id, before, saved.constraints, self._wb.user.email)])
        return saved

    def rollback(self, label_id: str, to_version: int, read_version: int) -> CanonicalLabel:
        before = self._labels.get(label_id)
        rolled = self._labels.rollback(label_id, to_version, read_version)
        LabelConstraintAudit(self._wb).record([ConstraintChange(rolled.id, before.constraints, rolled.constraints, self._wb.user.email)])
        return rolled


def item_image_size(workbench: Workbench, item: SheetItem) -> ImageSize | None:
    """The size in pixels of the item's first image (boxes are in these pixels), if it has one."""
    media = _first_image(item)
    return None if media is None else ImageSize(*image_size(workbench, media.path))


def _first_image(item: SheetItem) -> MediaRef | None:
    return next((m for m in item.media if m.kind == "image"), None)


def drawing_image(workbench: Workbench, media: tuple[MediaRef, ...], max_side: int = DRAWING_MAX_SIDE) -> tuple[bytes, ImageSize] | None:
    """A PNG of the first image among `media` to draw boxes on (scaled to `max_side`), and the
    image's own size (boxes are in its pixels); None without an image. PreviewError for a file
    that cannot be opened."""
    image = next((m for m in media if m.kind == "image"), None)
    if image is None:
        return None
    return image_thumbnail(workbench, image.path, max_side).png, ImageSize(*image_size(workbench, image.path))


def localization_boxes(labels: list[CanonicalLabel]) -> list[Box]:
    """The boxes of an item's localization label, to show on its image beside other label types."""
    found = next((label for label in labels if label.key.label_type == LabelType.LOCALIZATION), None)
    if found is None:
        return []
    boxes = found.label_data.get(BOXES_KEY) or []
    return [
        Box(*(float(b[c]) for c in BOX_COORDINATES), label=str(b.get("label") or ""))
        for b in boxes
        if isinstance(b, dict) and all(isinstance(b.get(c), int | float) for c in BOX_COORDINATES)
    ]
