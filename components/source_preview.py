"""Showing a source file: a PDF page or an image, with a clear note when it cannot be shown."""

from __future__ import annotations

import streamlit as st

from services.core.errors import WorkbenchError
from services.core.workbench import Workbench
from services.data.sheet_items import MediaRef
from services.data.source_previews import image_thumbnail, render_pdf_page

THUMBNAIL_SIDE = 220
PDF_THUMBNAIL_SIDE = 400  # an A4 page at 40% is 238 × 337; a poster-sized page is scaled to this


def thumbnail(workbench: Workbench, media: MediaRef) -> None:
    """A small render of the file: the first page of a PDF, or the image scaled down."""
    try:
        if media.kind == "pdf":
            page = render_pdf_page(workbench, media.path, 1, zoom=0.4, max_side=PDF_THUMBNAIL_SIDE)
            st.image(page.png, caption=f"{_name(media)} · {page.page_count} page(s)")
        elif media.kind == "image":
            st.image(image_thumbnail(workbench, media.path, THUMBNAIL_SIDE).png, caption=_name(media))
        else:
            st.caption(_name(media))
    except WorkbenchError as error:
        st.warning(str(error), icon=":material/broken_image:")


def attached(workbench: Workbench, paths: tuple[str, ...]) -> None:
    """The files that go to the model with an item's prompt: named, and the images shown (a vision
    model sees them beside the prompt, so the person should too)."""
    if not paths:
        return
    st.caption("Attached: " + ", ".join(f"`{path}`" for path in paths))
    images = [MediaRef(path) for path in paths if MediaRef(path).kind == "image"]
    for column, image in zip(st.columns(max(1, len(images))), images, strict=False):
        with column:
            thumbnail(workbench, image)


def _name(media: MediaRef) -> str:
    return media.path.rsplit("/", 1)[-1]
