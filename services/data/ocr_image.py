"""Preparing a rendered page for OCR: the same cleaning a scanning desk would do by hand.

Office scans arrive slightly turned, speckled and toned grey. Tesseract groups words into lines
by their baselines, so a page turned by a degree or two splits a table row into pieces and reads
them out of order; specks become stray punctuation. So the page is smoothed (scanner noise),
straightened (the angle at which its rows of ink line up best), and its specks, blots of ink
smaller than any character's stroke, are painted over before it is read.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

MAX_SKEW_DEGREES = 3.0  # a scan turned further than this was fed crooked on purpose; leave it to the reader
SKEW_STEP_DEGREES = 0.1
_COARSE_STEP_DEGREES = 0.5
_SKEW_SEARCH_SCALE = 4  # the angle is found on a quarter-size copy: 16× fewer pixels, the same rows
_INK_BELOW = 150  # grey level under which a pixel counts as ink when finding the angle
_PAPER = 255
# At 300 dpi the dot of an "i" in 6-point type covers about 20 pixels; a scanner's speck, a
# single pixel at 110 dpi enlarged, about 8. Scaled with the resolution the page is read at.
SPECK_PIXELS_AT_300_DPI = 6
_REFERENCE_DPI = 300


def prepared_for_ocr(page: Image.Image, dpi: int) -> bytes:
    """A grey page image, smoothed, straightened and despeckled, as PNG bytes for the recognizer."""
    grey = page.convert("L").filter(ImageFilter.GaussianBlur(dpi / _REFERENCE_DPI))
    angle = skew_angle(grey)
    if angle:
        grey = grey.rotate(angle, Image.Resampling.BICUBIC, fillcolor=_PAPER)
    out = io.BytesIO()
    Image.fromarray(_without_specks(np.asarray(grey), dpi)).save(out, format="PNG")
    return out.getvalue()


def skew_angle(grey: Image.Image) -> float:
    """The turn (degrees, counter-clockwise) that makes the page's text rows horizontal: rows of
    ink are sharpest, so the variance of ink per pixel row is highest, when they lie flat. Found
    coarse to fine: every half degree, then every tenth around the best."""
    small = grey.resize((max(1, grey.width // _SKEW_SEARCH_SCALE), max(1, grey.height // _SKEW_SEARCH_SCALE)))
    ink = Image.fromarray(np.where(np.asarray(small) < _INK_BELOW, 0, _PAPER).astype(np.uint8))
    coarse = _sharpest(ink, np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 0.01, _COARSE_STEP_DEGREES))
    return _sharpest(ink, coarse + np.arange(-_COARSE_STEP_DEGREES, _COARSE_STEP_DEGREES + 0.01, SKEW_STEP_DEGREES))


def _sharpest(ink: Image.Image, angles: np.ndarray) -> float:
    best_angle, best_score = 0.0, -1.0
    for angle in angles:
        turned = np.asarray(ink.rotate(float(angle), Image.Resampling.BILINEAR, fillcolor=_PAPER)) < 128
        score = float(turned.sum(axis=1).astype(np.float64).var())
        if score > best_score:
            best_angle, best_score = round(float(angle), 2), score
    return best_angle


def _without_specks(pixels: np.ndarray, dpi: int) -> np.ndarray:
    """Ink blots smaller than a speck, painted paper-white; everything else untouched."""
    ink = pixels < _otsu_threshold(pixels)
    labels, count = ndimage.label(ink)
    if count == 0:
        return pixels
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    speck = sizes < SPECK_PIXELS_AT_300_DPI * (dpi / _REFERENCE_DPI) ** 2
    speck[0] = False  # label 0 is the paper
    cleaned = pixels.copy()
    cleaned[speck[labels]] = _PAPER
    return cleaned


def _otsu_threshold(pixels: np.ndarray) -> int:
    """The grey level that best separates ink from paper (Otsu's method)."""
    share = np.bincount(pixels.ravel(), minlength=256).astype(np.float64) / pixels.size
    below = np.cumsum(share)
    mean_below = np.cumsum(share * np.arange(256))
    between = (mean_below[-1] * below - mean_below) ** 2 / (below * (1 - below) + 1e-12)
    return int(np.argmax(between))
