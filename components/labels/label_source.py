"""The source beside the label form: the image to draw boxes on for localization, else the item's
files (PDF pages, image with any localization boxes) and its row."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import box_drawer, source_viewer
from services.core.domain.canonical_label import CanonicalLabel
from services.core.workbench import Workbench
from services.data.sheet_items import SheetItem
from services.data.source_previews import PreviewError
from services.labels.label_schemas import BOXES_KEY, FormKind, LabelSchema
from services.labels.labeling_session import LabelingSession, localization_boxes


def show(
    wb: Workbench, session: LabelingSession, item: SheetItem, schema: LabelSchema, label: CanonicalLabel | None,
    labelsets: list[CanonicalLabel], key: str,
) -> list[dict[str, Any]] | None:
    """Renders the source; returns the drawn boxes when the label is boxes on this item's image."""
    try:
        drawing = session.drawing_image(item) if schema.kind is FormKind.BOXES else None
    except PreviewError as error:  # this item's image only: the form, labelsets and Previous/Next stay
        st.warning(str(error), icon=":material/broken_image:")
        _row_fields(item)
        return None
    if drawing is None:
        source_viewer.show(wb, item.media, key=f"source_{item.item_ref}", fields=item.fields, boxes=localization_boxes(labelsets))
        return None
    initial = label.label_data.get(BOXES_KEY, []) if label else []
    boxes = box_drawer.show(*drawing, schema.box_classes, not schema.closed_choices, initial, key=key)
    _row_fields(item)
    return boxes


def _row_fields(item: SheetItem) -> None:
    with st.expander("Row fields"):
        st.dataframe({"Field": list(item.fields), "Value": [str(v) for v in item.fields.values()]}, hide_index=True, width="stretch")
