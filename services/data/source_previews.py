"""Rendering source files for people (and models) to look at: PDF pages and images as PNG.

Files are read through the workbench's volume adapter, checked for size before they are read
and opened through services.data.file_decoding, so a hostile file fails with its own message.
Renders are cached by (file, its size and modification time, page, zoom), so paging back and
forth is instant and a replaced file is rendered again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image, ImageDraw

from data_access.llm.chat import ImagePart
from data_access.pymupdf_lean import pymupdf
from data_access.volumes import VolumeFileError, VolumePathError
from services.core.workbench import Workbench
from services.data.file_decoding import (
    PreviewError,
    displayable,
    opened_image,
    opened_pdf,
    png_bytes,
    zoom_within,
)

MAX_PDF_BYTES = 50 * 1024 * 1024  # larger documents are not previewed inline
MAX_IMAGE_BYTES = 25 * 1024 * 1024  # a 40 MB photo is refused before it is read
MAX_ZOOM = 4.0
# The image formats vision endpoints take as they are; others (BMP, TIFF) are sent as PNG.
MODEL_IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
RENDER_CACHE_ENTRIES = 512  # ~50-150 KB each: at most a few tens of MB per process

@dataclass(frozen=True)
class RenderedPage:
    png: bytes
    page_number: int  # 1-based
    page_count: int
    width: int
    height: int
    note: str = ""  # said beside the render, e.g. that a huge page is shown at a lower zoom


class _RenderCache:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple, RenderedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> RenderedPage | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple, value: RenderedPage) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _RenderCache(RENDER_CACHE_ENTRIES)


def clear_render_cache() -> None:
    _cache.clear()


def _read(workbench: Workbench, path: str, limit: int) -> bytes:
    files = workbench.backend.files
    try:
        size = files.size(path)
        if size > limit:
            raise PreviewError(f"{_name(path)} is {size / 1e6:.1f} MB; previews are limited to {limit / 1e6:.0f} MB.")
        return files.read_bytes(path, max_bytes=limit)
    except (VolumeFileError, VolumePathError) as error:
        raise PreviewError(str(error)) from error


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _fingerprint_or_missing(workbench: Workbench, path: str) -> str:
    """Part of the cache key, so a replaced file is rendered again; "" lets _read explain."""
    try:
        return workbench.backend.files.fingerprint(path)
    except (VolumeFileError, VolumePathError):
        return ""


def _store_key(workbench: Workbench) -> str:
    settings = workbench.settings
    return settings.warehouse_id if settings.is_databricks else str(settings.home)


def render_pdf_page(
    workbench: Workbench, path: str, page_number: int = 1, zoom: float = 1.0, max_side: int | None = None
) -> RenderedPage:
    """One page as PNG at `zoom`, lowered for a page so large that the render would pass the
    pixel limit (or `max_side` pixels across: thumbnails, pages for a model)."""
    zoom = min(max(zoom, 0.25), MAX_ZOOM)
    stamp = _fingerprint_or_missing(workbench, path)
    max_pixels = workbench.settings.max_image_pixels
    key = ("pdf", _store_key(workbench), path, stamp, page_number, round(zoom, 2), max_pixels, max_side)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    data = _read(workbench, path, MAX_PDF_BYTES)
    with opened_pdf(data, _name(path)) as document:
        number = min(max(page_number, 1), document.page_count)
        page = document[number - 1]
        fitted, note = zoom_within(page, zoom, max_pixels, max_side)
        pixmap = page.get_pixmap(matrix=pymupdf.Matrix(fitted, fitted))
        rendered = RenderedPage(pixmap.tobytes("png"), number, document.page_count, pixmap.width, pixmap.height, note)
    _cache.put(key, rendered)
    return rendered


def image_thumbnail(workbench: Workbench, path: str, max_side: int = 256) -> RenderedPage:
    """The image's first frame scaled to fit `max_side`, as PNG."""
    stamp = _fingerprint_or_missing(workbench, path)
    max_pixels = workbench.settings.max_image_pixels
    key = ("image", _store_key(workbench), path, stamp, max_side, max_pixels)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    data = _read(workbench, path, MAX_IMAGE_BYTES)
    with opened_image(data, _name(path), max_pixels) as image:
        image.draft(None, (max_side * 2, max_side * 2))  # a JPEG decodes at a fraction of its size
        shown = displayable(image)
        shown.thumbnail((max_side, max_side))
        rendered = RenderedPage(png_bytes(shown), 1, 1, shown.width, shown.height)
    _cache.put(key, rendered)
    return rendered


def image_size(workbench: Workbench, path: str) -> tuple[int, int]:
    """The image's width and height in pixels, from its header (after the same checks)."""
    data = _read(workbench, path, MAX_IMAGE_BYTES)
    with opened_image(data, _name(path), workbench.settings.max_image_pixels) as image:
        return image.size


def image_for_analysis(workbench: Workbench, path: str, max_side: int) -> Image.Image:
    """The image's first frame in RGB, scaled to fit `max_side`, for computing on its pixels
    (after the same checks as any preview: size, pixel limit, a decodable file)."""
    data = _read(workbench, path, MAX_IMAGE_BYTES)
    with opened_image(data, _name(path), workbench.settings.max_image_pixels) as image:
        image.draft("RGB", (max_side * 2, max_side * 2))  # a JPEG decodes at a fraction of its size
        picture = displayable(image).convert("RGB")
    picture.thumbnail((max_side, max_side))
    return picture


def image_for_model(workbench: Workbench, path: str, max_bytes: int) -> ImagePart:
    """An image as a vision model takes it, once it decodes within the pixel limit (a model
    server would refuse a damaged one, or spend its memory on a bomb): its own bytes when
    it is PNG, JPEG, GIF or WebP, else a PNG of its first frame (the type from its contents,
    not its extension)."""
    data = _read(workbench, path, MAX_IMAGE_BYTES)
    with opened_image(data, _name(path), workbench.settings.max_image_pixels) as image:
        mime_type = MODEL_IMAGE_TYPES.get(image.format or "")
        shown = displayable(image)
        if mime_type is None:
            data, mime_type = png_bytes(shown), "image/png"
    if len(data) > max_bytes:
        raise PreviewError(f"{_name(path)} is {len(data) / 1e6:.1f} MB; a model takes images of at most {max_bytes / 1e6:.0f} MB.")
    return ImagePart(data, mime_type)


@dataclass(frozen=True)
class Box:
    """A rectangle on an image in pixel coordinates, with the class it marks."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    label: str = ""


BOX_COLOURS = ("#e4572e", "#17bebb", "#ffc914", "#76b041", "#8e6fd1", "#ff6f91")


def image_with_boxes(workbench: Workbench, path: str, boxes: list[Box], max_side: int = 1024) -> RenderedPage:
    """The image (scaled to fit max_side) with each box outlined and captioned by its class."""
    data = _read(workbench, path, MAX_IMAGE_BYTES)
    with opened_image(data, _name(path), workbench.settings.max_image_pixels) as image:
        width, height = image.size  # boxes are in these pixels, whatever the decoder draws at
        image.draft(None, (max_side, max_side))
        scale = min(1.0, max_side / max(width, height))
        canvas = displayable(image).resize((max(1, round(width * scale)), max(1, round(height * scale))))
    canvas = canvas.convert("RGB") if canvas.mode == "L" else canvas  # coloured boxes
    draw = ImageDraw.Draw(canvas)
    colours = {label: BOX_COLOURS[i % len(BOX_COLOURS)] for i, label in enumerate(dict.fromkeys(b.label for b in boxes))}
    for box in boxes:
        corners = [box.x_min * scale, box.y_min * scale, box.x_max * scale, box.y_max * scale]
        draw.rectangle(corners, outline=colours[box.label], width=3)
        if box.label:
            draw.text((corners[0] + 4, corners[1] + 2), box.label, fill=colours[box.label])
    return RenderedPage(png_bytes(canvas), 1, 1, canvas.width, canvas.height)
