"""Rendering source files for people to look at: PDF pages and image thumbnails as PNG.

Files are read through the workbench's volume adapter, checked for size before decoding,
and renders are cached by (file, its size and modification time, page, zoom), so paging back
and forth is instant and a replaced file is rendered again.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass

import pymupdf
from PIL import Image, UnidentifiedImageError

from data_access.volumes import VolumeFileError, VolumePathError
from services.core.errors import WorkbenchError
from services.core.workbench import Workbench

MAX_PDF_BYTES = 50 * 1024 * 1024  # larger documents are not previewed inline
MAX_IMAGE_BYTES = 25 * 1024 * 1024  # a 40 MB photo is refused before it is read
MAX_IMAGE_PIXELS = 60_000_000  # Pillow's bomb guard, set explicitly for our limit
MAX_ZOOM = 4.0
RENDER_CACHE_ENTRIES = 512  # ~50-150 KB each: at most a few tens of MB per process

Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class PreviewError(WorkbenchError):
    """A file cannot be previewed; the message says why in a person's words."""


@dataclass(frozen=True)
class RenderedPage:
    png: bytes
    page_number: int  # 1-based
    page_count: int
    width: int
    height: int


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


def _read(workbench: Workbench, path: str, limit: int) -> tuple[bytes, int]:
    files = workbench.backend.files
    try:
        size = files.size(path)
        if size > limit:
            raise PreviewError(f"{_name(path)} is {size / 1e6:.1f} MB; previews are limited to {limit / 1e6:.0f} MB.")
        return files.read_bytes(path, max_bytes=limit), size
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


def render_pdf_page(workbench: Workbench, path: str, page_number: int = 1, zoom: float = 1.0) -> RenderedPage:
    zoom = min(max(zoom, 0.25), MAX_ZOOM)
    stamp = _fingerprint_or_missing(workbench, path)
    key = ("pdf", _store_key(workbench), path, stamp, page_number, round(zoom, 2))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    data, _ = _read(workbench, path, MAX_PDF_BYTES)
    try:
        with pymupdf.open(stream=data, filetype="pdf") as document:
            if document.page_count == 0:
                raise PreviewError(f"{_name(path)} has no pages.")
            number = min(max(page_number, 1), document.page_count)
            pixmap = document[number - 1].get_pixmap(matrix=pymupdf.Matrix(zoom, zoom))
            rendered = RenderedPage(pixmap.tobytes("png"), number, document.page_count, pixmap.width, pixmap.height)
    except (pymupdf.FileDataError, RuntimeError, ValueError) as error:
        raise PreviewError(f"{_name(path)} cannot be opened: the file is damaged or is not a PDF.") from error
    _cache.put(key, rendered)
    return rendered


def image_thumbnail(workbench: Workbench, path: str, max_side: int = 256) -> RenderedPage:
    stamp = _fingerprint_or_missing(workbench, path)
    key = ("image", _store_key(workbench), path, stamp, max_side)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    data, _ = _read(workbench, path, MAX_IMAGE_BYTES)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((max_side, max_side))
            converted = image.convert("RGB") if image.mode not in ("RGB", "RGBA", "L") else image
            out = io.BytesIO()
            converted.save(out, format="PNG")
            rendered = RenderedPage(out.getvalue(), 1, 1, converted.width, converted.height)
    except Image.DecompressionBombError as error:
        raise PreviewError(f"{_name(path)} has more than {MAX_IMAGE_PIXELS:,} pixels; it is too large to preview.") from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise PreviewError(f"{_name(path)} cannot be opened: the file is damaged or is not an image.") from error
    _cache.put(key, rendered)
    return rendered


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
    from PIL import ImageDraw

    data, _ = _read(workbench, path, MAX_IMAGE_BYTES)
    try:
        with Image.open(io.BytesIO(data)) as image:
            canvas = image.convert("RGB")
    except Image.DecompressionBombError as error:
        raise PreviewError(f"{_name(path)} has more than {MAX_IMAGE_PIXELS:,} pixels; it is too large to preview.") from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise PreviewError(f"{_name(path)} cannot be opened: the file is damaged or is not an image.") from error
    scale = min(1.0, max_side / max(canvas.size))
    if scale < 1.0:
        canvas = canvas.resize((round(canvas.width * scale), round(canvas.height * scale)))
    draw = ImageDraw.Draw(canvas)
    colours = {label: BOX_COLOURS[i % len(BOX_COLOURS)] for i, label in enumerate(dict.fromkeys(b.label for b in boxes))}
    for box in boxes:
        corners = [box.x_min * scale, box.y_min * scale, box.x_max * scale, box.y_max * scale]
        draw.rectangle(corners, outline=colours[box.label], width=3)
        if box.label:
            draw.text((corners[0] + 4, corners[1] + 2), box.label, fill=colours[box.label])
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return RenderedPage(out.getvalue(), 1, 1, canvas.width, canvas.height)


def read_image(workbench: Workbench, path: str) -> bytes:
    """The image's own bytes for full-size display, after the same size check."""
    data, _ = _read(workbench, path, MAX_IMAGE_BYTES)
    return data
