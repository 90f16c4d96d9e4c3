"""What an image shows, as a few numbers the offline drafter can compare: marks on the object.

Inspection pictures of one kind look alike as a whole (the same object on the same stage),
so what tells them apart is small: dark marks (inclusions, cracks, dust), bright or coloured
patches (glints, interference fringes, residue), and whether the marks lie deep inside or
along the rim, in a compact cluster or along a line. The descriptor measures those on the
object (the bright part of the picture), at a fixed working size, with numpy only; it is
deterministic and reads nothing but the pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

WORKING_SIDE = 192  # px: marks of 2-3 px at 384 px survive, and a descriptor costs a few ms
FINE_BLUR = 2.0  # px: a mark narrower than this stands out of the fine residual
COARSE_BLUR = 9.0  # px: smudges and bands up to about this wide stand out of the coarse residual
OBJECT_BLUR = 3.0  # px: dark marks on the object are not holes in its mask
RIM_PX = 3  # px trimmed off the object's outline (its bright bevel is no mark)
DEEP_PX = 15  # px inside the outline where the rim band ends
DARK, VERY_DARK, BRIGHT = -0.04, -0.10, 0.04  # fine residual levels (0..1 grey) that count as a mark
COARSE_LEVEL, TINT_LEVEL = 0.03, 0.02  # coarse residual levels that count as a patch
MIN_OBJECT_PIXELS = 64  # fewer: no object found, the whole picture is measured
MARK_SHAPE_MIN_PIXELS = 3
PER_TEN_THOUSAND = 1e4  # area shares of a few pixels in 10,000 matter: log(1 + share × 10,000)


def describe_image(image: Image.Image) -> np.ndarray:
    """The descriptor of an image (18 float32: eight measures deep inside and eight along the rim,
    then the marks' spread and roundness): same pixels, same numbers."""
    picture = image.convert("RGB")
    picture.thumbnail((WORKING_SIDE, WORKING_SIDE))
    rgb = np.asarray(picture, dtype=np.float32) / 255
    grey = rgb.mean(axis=2)
    inner, deep = _object_regions(grey)
    rim = inner & ~deep
    smooth = _blur(grey, FINE_BLUR)
    fine = grey - smooth
    coarse = smooth - _blur(grey, COARSE_BLUR)
    warmth = rgb[..., 0] - rgb[..., 2]  # residue and amber tints are warm, the stage and the halides cool
    tint = _blur(warmth, FINE_BLUR) - _blur(warmth, COARSE_BLUR)
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    colour = chroma - _blur(chroma, COARSE_BLUR / 2)
    shares: list[float] = []
    for region in (deep, rim):
        n = max(int(region.sum()), 1)
        f, c, t = fine[region], coarse[region], tint[region]
        shares += [
            (f < DARK).sum() / n, (f < VERY_DARK).sum() / n, (f > BRIGHT).sum() / n, float(np.abs(c).mean()) if f.size else 0.0,
            (c < -COARSE_LEVEL).sum() / n, float(np.abs(t).mean()) if f.size else 0.0, (np.abs(t) > TINT_LEVEL).sum() / n,
            float(np.abs(colour[region]).mean()) if f.size else 0.0,
        ]
    spread, roundness = _mark_shape(inner & (fine < DARK))
    return np.concatenate([np.log1p(np.asarray(shares, dtype=np.float32) * PER_TEN_THOUSAND), [spread, roundness]]).astype(np.float32)


def _object_regions(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The object without its outline, and its deep inside: the object is what is brighter than
    halfway between the picture's darkest and brightest tenths (the stage is dark)."""
    low, high = np.percentile(grey, (10, 90))
    found = _blur(grey, OBJECT_BLUR) > (low + high) / 2
    inner = _eroded(found, RIM_PX)
    if inner.sum() < MIN_OBJECT_PIXELS:
        everything = np.ones_like(found)
        return everything, everything
    return inner, _eroded(found, DEEP_PX)


def _mark_shape(marks: np.ndarray) -> tuple[float, float]:
    """How far the dark marks spread (share of the picture's side) and how round their spread
    is (1 for a cluster, towards 0 for a line): a crack is long and thin, inclusions compact."""
    rows, cols = np.nonzero(marks)
    if rows.size < MARK_SHAPE_MIN_PIXELS:
        return 0.0, 1.0
    low, high = np.sqrt(np.clip(np.linalg.eigvalsh(np.cov(np.vstack([cols, rows]).astype(np.float64))), 0, None))
    return float(high / max(marks.shape)), float(low / high) if high > 0 else 1.0


def _box_mean(values: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """The mean over a window of 2·radius+1 along one axis (edges repeated), by cumulative sums."""
    moved = np.moveaxis(values, axis, 0)
    padded = np.concatenate([np.repeat(moved[:1], radius + 1, axis=0), moved, np.repeat(moved[-1:], radius, axis=0)])
    sums = np.cumsum(padded, axis=0, dtype=np.float32)
    width = 2 * radius + 1
    return np.moveaxis((sums[width:] - sums[:-width]) / width, 0, axis)


def _blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """Three box passes: close to a gaussian of this sigma, at the cost of six cumulative sums."""
    radius = max(1, round((np.sqrt(4 * sigma**2 + 1) - 1) / 2))
    for _ in range(3):
        values = _box_mean(_box_mean(values, radius, 0), radius, 1)
    return values


def _eroded(mask: np.ndarray, radius: int) -> np.ndarray:
    """The pixels whose whole square of side 2·radius+1 lies in the mask."""
    window = _box_mean(_box_mean(mask.astype(np.float32), radius, 0), radius, 1)
    return window > 1 - 1e-4
