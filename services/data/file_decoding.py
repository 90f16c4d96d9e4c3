"""Opening image and PDF bytes that may be hostile: the one place that checks, decodes and explains.

Every way the workbench shows or sends a file comes through here, so a file that is damaged,
encrypted, mislabelled or too large fails the same way everywhere: a PreviewError naming the
file and saying what is wrong with it, never a decoder's exception. Images are measured from
their header before a pixel is decoded; PDF pages are measured before they are rendered.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import Image

from data_access.pymupdf_lean import pymupdf
from data_access.settings import MAX_IMAGE_PIXELS_RANGE
from services.core.errors import WorkbenchError

# Pillow's own bomb guard stays as a backstop at the highest limit the setting allows; the
# workbench's limit (Settings.max_image_pixels) is checked first, from the header.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS_RANGE[1]
# What Pillow's decoders raise on bad data (a truncated stream, a chunk out of sequence, a
# header that lies); anything else is a bug of ours and is left to surface.
_PILLOW_FAILURES = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, struct.error, ZeroDivisionError)
# What PyMuPDF raises: its own file errors (RuntimeError), closed/encrypted documents
# (ValueError) and MuPDF's errors, which derive from none of those.
_PDF_FAILURES = (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase)
_HIGH_BIT_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N")
_POINTS_PER_INCH = 72


class PreviewError(WorkbenchError):
    """A file cannot be shown or sent; the message names it and says why in a person's words."""


def _damaged(name: str, kind: str) -> str:
    return f"{name} cannot be opened: the file is damaged or is not {kind}."


def _too_large(name: str, max_pixels: int, width: int | None = None, height: int | None = None) -> str:
    size = f"{width:,} × {height:,} pixels, " if width is not None and height is not None else ""
    return f"{name} is too large to open: {size}above the limit of {max_pixels:,} pixels."


def _check_not_empty(data: bytes, name: str) -> None:
    if not data:
        raise PreviewError(f"{name} is empty (0 bytes).")


@contextmanager
def opened_image(data: bytes, name: str, max_pixels: int) -> Iterator[Image.Image]:
    """The image with only its header read, refused when it holds more than `max_pixels`.
    Any decoder failure inside the block becomes a PreviewError about this file."""
    _check_not_empty(data, name)
    if data.startswith(b"%PDF-"):
        raise PreviewError(f"{name} is a PDF, not an image; check the file's extension.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise PreviewError(_too_large(name, max_pixels, image.width, image.height))
            yield image
    except Image.DecompressionBombError as error:
        raise PreviewError(_too_large(name, max_pixels)) from error
    except _PILLOW_FAILURES as error:  # UnidentifiedImageError is an OSError
        raise PreviewError(_damaged(name, "an image")) from error


def displayable(image: Image.Image) -> Image.Image:
    """The first frame, decoded into RGB, RGBA or L (8 bits a channel), transparency kept as alpha.

    Call inside `opened_image`, which turns a decoder's failure into a PreviewError."""
    image.seek(0)  # an animation shows its first frame
    image.load()
    transparency = image.info.get("transparency")
    if image.mode in _HIGH_BIT_DEPTH:
        return _sixteen_to_eight_bits(image, transparency)
    if image.mode in ("I", "F"):
        return _stretched_to_eight_bits(image)
    if image.mode in ("RGB", "RGBA", "L") and transparency is None:
        return image
    has_alpha = transparency is not None or image.mode in ("LA", "La", "PA", "RGBa") or image.has_transparency_data
    converted = image.convert("RGBA" if has_alpha else "RGB")
    converted.info.pop("transparency", None)  # now in the alpha channel; PNG cannot save it beside RGBA
    return converted


def _sixteen_to_eight_bits(image: Image.Image, transparency: object) -> Image.Image:
    """16-bit grey scaled to 8 bits (not clipped at 255, which turns most of it white)."""
    pixels = np.asarray(image).astype(np.uint16)
    grey = Image.fromarray((pixels >> 8).astype(np.uint8))
    if not isinstance(transparency, int):
        return grey
    alpha = Image.fromarray(np.where(pixels == transparency, 0, 255).astype(np.uint8))
    return Image.merge("LA", (grey, alpha)).convert("RGBA")


def _stretched_to_eight_bits(image: Image.Image) -> Image.Image:
    """32-bit integer or float grey has no natural range: its own lowest to highest value."""
    pixels = np.asarray(image, dtype=np.float64)
    finite = pixels[np.isfinite(pixels)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    scaled = np.zeros_like(pixels) if high <= low else (np.nan_to_num(pixels, nan=low, posinf=high, neginf=low) - low) / (high - low) * 255
    return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8))


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@contextmanager
def opened_pdf(data: bytes, name: str) -> Iterator[pymupdf.Document]:
    """An open PDF with at least one page, readable without a password. Any PyMuPDF failure
    inside the block becomes a PreviewError about this file."""
    _check_not_empty(data, name)
    try:
        with pymupdf.open(stream=data, filetype="pdf") as document:
            if not document.is_pdf:
                raise PreviewError(f"{name} is not a PDF: it holds another kind of file; check the file's extension.")
            if document.needs_pass or document.is_encrypted:
                raise PreviewError(f"{name} is encrypted and needs a password; it cannot be shown here.")
            if document.page_count == 0:
                raise PreviewError(f"{name} has no pages.")
            yield document
    except _PDF_FAILURES as error:
        raise PreviewError(_damaged(name, "a PDF")) from error


def zoom_within(page: pymupdf.Page, zoom: float, max_pixels: int, max_side: int | None = None) -> tuple[float, str]:
    """The zoom to render `page` at, lowered so the render holds at most `max_pixels` (and is at
    most `max_side` pixels across, when given), and a note for the person when it was lowered."""
    width, height = page.rect.width, page.rect.height
    if width <= 0 or height <= 0:
        return zoom, ""  # an empty page box: MuPDF renders nothing, or says the file is damaged
    fitted = min(zoom, math.sqrt(max_pixels / (width * height)) * 0.999)  # 0.999: still under after rounding up
    if max_side is not None:
        fitted = min(fitted, max_side / max(width, height))
    if fitted >= zoom:
        return zoom, ""
    inches = f"{width / _POINTS_PER_INCH:.0f} × {height / _POINTS_PER_INCH:.0f} in"
    return fitted, f"This page is {inches}; it is shown at {fitted:.0%} zoom."
