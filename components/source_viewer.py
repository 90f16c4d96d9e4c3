"""The source beside a pair or a label: a PDF page viewer, an image with its boxes, the row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from services.core.errors import WorkbenchError
from services.core.workbench import Workbench
from services.data.sheet_items import MediaRef
from services.data.source_previews import Box, image_with_boxes, render_pdf_page

ZOOM_LEVELS = (0.75, 1.0, 1.25, 1.5, 2.0)
LONG_TEXT = 200  # longer field values are shown folded, not in the fields table
# A poster-sized page is scaled to this many pixels across; an A4 page at 200% is 1190 × 1684.
PAGE_MAX_SIDE = 4096


def show(
    wb: Workbench, media: Sequence[MediaRef], key: str, fields: dict[str, Any] | None = None, boxes: list[Box] | None = None
) -> None:
    if not media:
        st.caption("This item has no file; its row is the source.")
    for index, item in enumerate(media):
        try:
            if item.kind == "pdf":
                _pdf(wb, item, f"{key}_{index}")
            elif item.kind == "image":
                page = image_with_boxes(wb, item.path, boxes or [])
                st.image(page.png, caption=item.path.rsplit("/", 1)[-1], width="content")
            else:
                st.caption(item.path)
        except WorkbenchError as error:
            st.warning(str(error), icon=":material/broken_image:")
    if fields:
        _fields(fields)


def _pdf(wb: Workbench, media: MediaRef, key: str) -> None:
    page_key, zoom_key = f"{key}_page", f"{key}_zoom"
    number = st.session_state.get(page_key, 1)
    zoom = st.session_state.get(zoom_key, 1.0)
    rendered = render_pdf_page(wb, media.path, number, zoom, max_side=PAGE_MAX_SIDE)
    back, where, forward, zoom_column = st.columns([1, 2, 1, 2], vertical_alignment="center")
    if back.button("◀", key=f"{key}_back", disabled=rendered.page_number <= 1, help="Previous page"):
        st.session_state[page_key] = rendered.page_number - 1
        st.rerun()
    where.markdown(f"Page {rendered.page_number} of {rendered.page_count}")
    if forward.button("▶", key=f"{key}_forward", disabled=rendered.page_number >= rendered.page_count, help="Next page"):
        st.session_state[page_key] = rendered.page_number + 1
        st.rerun()
    zoom_column.select_slider("Zoom", ZOOM_LEVELS, value=zoom if zoom in ZOOM_LEVELS else 1.0, key=zoom_key, format_func=lambda z: f"{z:.0%}")
    if rendered.note:
        st.caption(rendered.note)
    st.image(rendered.png, caption=media.path.rsplit("/", 1)[-1], width="content")


def _fields(fields: dict[str, Any]) -> None:
    short = {k: v for k, v in fields.items() if not (isinstance(v, str) and len(v) > LONG_TEXT)}
    long = {k: v for k, v in fields.items() if k not in short}
    st.dataframe({"Field": list(short), "Value": [str(v) for v in short.values()]}, hide_index=True, width="stretch")
    for name, value in long.items():
        with st.expander(name):
            st.text(value)
