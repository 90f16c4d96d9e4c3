"""What a reviewer sees beside a pair: its source row, its files, and the boxes its labels draw."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.core.domain.canonical_label import CanonicalLabel
from services.core.domain.qa_pair import QaPair
from services.core.errors import NotFoundError, ValidationError
from services.core.workbench import Workbench
from services.data.sheet_items import MediaRef
from services.data.sheets import SheetService
from services.data.source_previews import Box
from services.labels.canonical_labels import CanonicalLabelService

MAX_BOXES = 200  # more boxes than this hide the image they are drawn on


@dataclass(frozen=True)
class PairSource:
    media: tuple[MediaRef, ...]
    fields: dict[str, Any] = field(default_factory=dict)
    boxes: list[Box] = field(default_factory=list)
    problem: str | None = None  # why the row could not be read (the files may still show)
    label: CanonicalLabel | None = None  # the item's canonical label of the pair's label type


def boxes_in(label_data: Any) -> list[Box]:
    """Boxes of a localization-style answer: `{"boxes": [{x_min, y_min, x_max, y_max, label}]}`.
    Anything malformed is skipped: a half-drawn answer should still show what it can."""
    items = label_data.get("boxes") if isinstance(label_data, dict) else None
    boxes = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            corners = [float(item[k]) for k in ("x_min", "y_min", "x_max", "y_max")]
        except (KeyError, TypeError, ValueError):
            continue
        if corners[0] <= corners[2] and corners[1] <= corners[3]:
            boxes.append(Box(*corners, label=str(item.get("label") or "")))
    return boxes[:MAX_BOXES]


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _boxes(answers: Iterable[Any]) -> list[Box]:
    # A pre-approved pair's response is its label's answer: draw each box once.
    return list(dict.fromkeys(box for answer in answers for box in boxes_in(answer)))[:MAX_BOXES]


def source_of(workbench: Workbench, pair: QaPair) -> PairSource:
    """The pair's source row (read fresh), its files, and the boxes drawn by the item's
    canonical labels and by the pair's own response."""
    media = tuple(MediaRef(path) for path in pair.media_refs)
    labels = CanonicalLabelService(workbench).for_item(pair.sheet_id, pair.item_ref)
    boxes = _boxes([*(label.label_data for label in labels), _parsed(pair.response)])
    own = next((label for label in labels if label.key.label_type == pair.label_type), None)
    sheets = SheetService(workbench)
    try:
        items = sheets.items_for_refs(sheets.get(pair.sheet_id), [pair.item_ref])
    except (NotFoundError, ValidationError) as error:
        return PairSource(media, boxes=boxes, problem=f"The source row could not be read: {error}", label=own)
    if not items:
        return PairSource(media, boxes=boxes, problem=f"{pair.item_ref} is no longer in the sheet's source table.", label=own)
    return PairSource(media or items[0].media, items[0].fields, boxes, label=own)
