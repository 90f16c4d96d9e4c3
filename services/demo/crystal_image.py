"""Drawing a scintillator crystal on the inspection stage, with its defects, in Pillow and numpy.

The drawing returns the bounding boxes of exactly what it drew, so localization labels can
be checked against ground truth. Boxes are pixel coordinates `[x_min, y_min, x_max, y_max]`.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

IMAGE_SIZE = 384
# zlib level 1: five times faster than the default on these noisy images, for 8% more bytes.
PNG_COMPRESS_LEVEL = 1
BOX_PADDING = 3

NONE = "none"
INCLUSION = "inclusion"
CRACK = "crack"
DELAMINATION = "delamination"
SURFACE_CONTAMINATION = "surface_contamination"
DEFECT_TYPES = (NONE, INCLUSION, CRACK, DELAMINATION, SURFACE_CONTAMINATION)
SEVERITIES = ("none", "minor", "major", "critical")

# How each crystal looks in white inspection light (RGB); BGO is pale amber, the halides clear.
CRYSTAL_TINT = {
    "NaI(Tl)": (196, 212, 232),
    "CsI(Tl)": (212, 218, 226),
    "LaBr3": (222, 226, 214),
    "BGO": (232, 214, 156),
}

Array = np.ndarray


@dataclass(frozen=True)
class DefectBox:
    label: str
    x_min: int
    y_min: int
    x_max: int
    y_max: int

    def to_json(self) -> dict[str, object]:
        return {"label": self.label, "box": [self.x_min, self.y_min, self.x_max, self.y_max]}


@dataclass(frozen=True)
class CrystalSpec:
    """What to draw; `drawing_seed` makes the picture itself (positions, shapes, noise)."""

    crystal_type: str
    round_face: bool  # cylinders are inspected end-on; slabs and bars from above
    defect_type: str
    severity: str
    drawing_seed: int


@dataclass(frozen=True)
class CrystalImage:
    png: bytes
    boxes: tuple[DefectBox, ...]


@dataclass(frozen=True)
class _Geometry:
    """Where the crystal is: signed distance to its edge (px, positive inside) and helpers."""

    inside: Array  # 0..1, antialiased
    edge_distance: Array
    along_edge: Callable[[int], tuple[Array, Array]]  # side -> (along-edge coordinate, distance to that side)
    sides: int
    center: tuple[float, float]
    perimeter: float | None = None  # a round face's along-edge coordinate wraps around


def draw_crystal(spec: CrystalSpec) -> CrystalImage:
    rng = random.Random(spec.drawing_seed)
    noise = np.random.default_rng(spec.drawing_seed)
    ys, xs = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32) + 0.5
    geometry = _round_face(rng, xs, ys) if spec.round_face else _slab(rng, xs, ys)
    picture = _stage(rng, noise, xs, ys)
    picture = _blend(picture, _crystal_body(spec, rng, noise, geometry, xs, ys), geometry.inside)
    boxes: list[DefectBox] = []
    overlay = Image.new("RGBA", (IMAGE_SIZE, IMAGE_SIZE), (0, 0, 0, 0))
    pen = ImageDraw.Draw(overlay)
    level = SEVERITIES.index(spec.severity)
    if spec.defect_type == DELAMINATION:
        picture, boxes = _delamination(rng, noise, geometry, picture, pen, level)
    elif spec.defect_type == SURFACE_CONTAMINATION:
        picture, boxes = _contamination(rng, geometry, xs, ys, picture, pen, level)
    elif spec.defect_type == INCLUSION:
        boxes = _inclusions(rng, geometry, pen, level)
    elif spec.defect_type == CRACK:
        boxes = _crack(rng, geometry, pen, level)
    elif rng.random() < 0.5:
        _harmless_glint(rng, geometry, pen)  # clean crystals still catch the light somewhere
    image = Image.alpha_composite(Image.fromarray(_to_bytes(picture), "RGB").convert("RGBA"), overlay)
    image = image.convert("RGB").filter(ImageFilter.GaussianBlur(0.55))
    _scale_bar(ImageDraw.Draw(image))
    pixels = np.asarray(image, dtype=np.float32) + _gaussian(noise, 2.2, (IMAGE_SIZE, IMAGE_SIZE, 1))
    buffer = io.BytesIO()
    Image.fromarray(_to_bytes(pixels), "RGB").save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return CrystalImage(buffer.getvalue(), tuple(boxes))


# -- the scene -------------------------------------------------------------------------------
def _round_face(rng: random.Random, xs: Array, ys: Array) -> _Geometry:
    cx, cy = IMAGE_SIZE / 2 + rng.uniform(-10, 10), IMAGE_SIZE / 2 + rng.uniform(-10, 10)
    radius = rng.uniform(128, 150)
    dx, dy = xs - cx, ys - cy
    distance = radius - np.hypot(dx, dy)
    angle = np.arctan2(dy, dx)

    def along_edge(_side: int) -> tuple[Array, Array]:
        return angle * radius, distance

    return _Geometry(np.clip(distance + 0.5, 0, 1), distance, along_edge, 1, (cx, cy), 2 * math.pi * radius)


def _slab(rng: random.Random, xs: Array, ys: Array) -> _Geometry:
    cx, cy = IMAGE_SIZE / 2 + rng.uniform(-8, 8), IMAGE_SIZE / 2 + rng.uniform(-8, 8)
    half_w, half_h = rng.uniform(112, 148), rng.uniform(84, 130)
    theta = math.radians(rng.uniform(-9, 9))
    u = (xs - cx) * math.cos(theta) + (ys - cy) * math.sin(theta)
    v = -(xs - cx) * math.sin(theta) + (ys - cy) * math.cos(theta)
    corner = 10.0
    qx, qy = np.abs(u) - half_w + corner, np.abs(v) - half_h + corner
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - corner
    distance = -outside
    side_distance = (half_w - u, half_h - v, half_w + u, half_h + v)
    side_along = (v, u, v, u)

    def along_edge(side: int) -> tuple[Array, Array]:
        return side_along[side], side_distance[side]

    return _Geometry(np.clip(distance + 0.5, 0, 1), distance, along_edge, 4, (cx, cy))


def _stage(rng: random.Random, noise: np.random.Generator, xs: Array, ys: Array) -> Array:
    """The dark inspection table, lit from one side, with a little vignetting."""
    base = np.array([rng.uniform(18, 26), rng.uniform(21, 29), rng.uniform(27, 36)], dtype=np.float32)
    radial = np.hypot(xs - IMAGE_SIZE / 2, ys - IMAGE_SIZE / 2) / (IMAGE_SIZE * 0.75)
    light = 1.15 - 0.5 * radial + 0.15 * (xs / IMAGE_SIZE)
    return base * light[..., None] + _gaussian(noise, 1.5, (IMAGE_SIZE, IMAGE_SIZE, 1))


def _crystal_body(spec: CrystalSpec, rng: random.Random, noise: np.random.Generator, geometry: _Geometry,
                  xs: Array, ys: Array) -> Array:
    tint = np.array(CRYSTAL_TINT[spec.crystal_type], dtype=np.float32)
    light_angle = rng.uniform(0, 2 * math.pi)
    gradient = ((xs - IMAGE_SIZE / 2) * math.cos(light_angle) + (ys - IMAGE_SIZE / 2) * math.sin(light_angle)) / IMAGE_SIZE
    shading = 0.78 + 0.32 * gradient
    # A soft specular band across the polished face.
    band_offset = rng.uniform(-60, 60)
    band = (xs - IMAGE_SIZE / 2) * math.sin(light_angle) - (ys - IMAGE_SIZE / 2) * math.cos(light_angle) - band_offset
    shading += 0.16 * np.exp(-(band / rng.uniform(18, 34)) ** 2)
    # Internal striae: low-frequency variation of transmission.
    coarse = Image.fromarray(((noise.normal(0, 1, (10, 10)) * 18 + 128).clip(0, 255)).astype(np.uint8), "L")
    striae = (np.asarray(coarse.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC), np.float32) - 128) / 128
    shading += 0.05 * striae
    # The polished edge (bevel) shows as a bright rim with a darker inner line.
    edge = geometry.edge_distance
    shading += 0.22 * np.exp(-(edge / 2.2) ** 2) - 0.12 * np.exp(-((edge - 6) / 2.5) ** 2)
    return tint * shading[..., None]


def _gaussian(noise: np.random.Generator, sigma: float, shape: tuple[int, ...]) -> Array:
    return noise.standard_normal(shape, dtype=np.float32) * np.float32(sigma)


def _blend(under: Array, over: Array, alpha: Array) -> Array:
    return under * (1 - alpha[..., None]) + over * alpha[..., None]


def _to_bytes(pixels: Array) -> Array:
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def _interior_point(rng: random.Random, geometry: _Geometry, margin: float) -> tuple[float, float]:
    """A point on the crystal at least `margin` px from its edge (the drawing seed fixes which)."""
    while True:
        x, y = rng.uniform(0, IMAGE_SIZE - 1), rng.uniform(0, IMAGE_SIZE - 1)
        if geometry.edge_distance[int(y), int(x)] >= margin:
            return x, y


def _box(label: str, xs: list[float], ys: list[float], pad: float = BOX_PADDING) -> DefectBox:
    return DefectBox(label, _pixel(min(xs) - pad), _pixel(min(ys) - pad), _pixel(max(xs) + pad), _pixel(max(ys) + pad))


def _pixel(value: float) -> int:
    return int(min(IMAGE_SIZE - 1, max(0, round(value))))


# -- defects ---------------------------------------------------------------------------------
def _inclusions(rng: random.Random, geometry: _Geometry, pen: ImageDraw.ImageDraw, level: int) -> list[DefectBox]:
    """Dark foreign particles trapped during growth, in one or two clusters."""
    boxes = []
    for _ in range(2 if level == 3 and rng.random() < 0.6 else 1):
        cx, cy = _interior_point(rng, geometry, 30)
        count = rng.randint(*((1, 2), (3, 5), (5, 9))[level - 1])
        spread = 4 + 4 * level
        xs, ys = [], []
        for _ in range(count):
            x, y = cx + rng.gauss(0, spread), cy + rng.gauss(0, spread)
            r = rng.uniform(1.4, 2.6 + 1.3 * level)
            elongation = rng.uniform(0.7, 1.3)
            pen.ellipse((x - r * 2.2, y - r * 2.2, x + r * 2.2, y + r * 2.2), fill=(255, 250, 235, 36))  # halo
            pen.ellipse((x - r * elongation, y - r / elongation, x + r * elongation, y + r / elongation),
                        fill=(rng.randint(22, 48), rng.randint(18, 36), rng.randint(12, 28), 235))
            xs += [x - r * 2.2, x + r * 2.2]
            ys += [y - r * 2.2, y + r * 2.2]
        boxes.append(_box(INCLUSION, xs, ys))
    return boxes


def _crack(rng: random.Random, geometry: _Geometry, pen: ImageDraw.ImageDraw, level: int) -> list[DefectBox]:
    """A fracture from near the rim inwards: a jagged dark line with a bright refracting edge."""
    segments = rng.randint(*((5, 8), (9, 14), (15, 22))[level - 1])
    cx, cy = geometry.center
    main: list[tuple[float, float]] = []
    # A start too close to the rim, heading out, gives a stub: try a few starts, keep the longest.
    for _ in range(12):
        x, y = _interior_point(rng, geometry, 8)
        heading = math.atan2(cy - y, cx - x) + rng.uniform(-0.6, 0.6)
        path = _jagged_path(rng, geometry, (x, y), heading, segments)
        main = path if len(path) > len(main) else main
        if len(main) > segments * 0.7:
            break
    paths = [main]
    if level >= 2 and len(main) > 4:
        start = main[rng.randint(2, len(main) - 2)]
        paths.append(_jagged_path(rng, geometry, start, heading + rng.choice((-1, 1)) * rng.uniform(0.6, 1.1),
                                  max(3, segments // 3)))
    width = 1 if level == 1 else 2
    for path in paths:
        pen.line([(px + 1.2, py + 0.8) for px, py in path], fill=(255, 255, 255, 150), width=1)
        pen.line(path, fill=(34, 38, 46, 225), width=width)
    points = [p for path in paths for p in path]
    return [_box(CRACK, [p[0] for p in points], [p[1] for p in points])]


def _jagged_path(rng: random.Random, geometry: _Geometry, start: tuple[float, float], heading: float,
                 segments: int) -> list[tuple[float, float]]:
    path = [start]
    x, y = start
    for _ in range(segments):
        heading += rng.uniform(-0.6, 0.6)
        step = rng.uniform(6, 14)
        nx, ny = x + step * math.cos(heading), y + step * math.sin(heading)
        if not (0 <= nx < IMAGE_SIZE and 0 <= ny < IMAGE_SIZE) or geometry.edge_distance[int(ny), int(nx)] < 3:
            break
        x, y = nx, ny
        path.append((x, y))
    return path


def _delamination(rng: random.Random, noise: np.random.Generator, geometry: _Geometry, picture: Array,
                  pen: ImageDraw.ImageDraw, level: int) -> tuple[Array, list[DefectBox]]:
    """Separation at an edge: thin-film interference fringes in a band along the rim, with bubbles."""
    side = rng.randrange(geometry.sides)
    along, distance = geometry.along_edge(side)
    nearest = geometry.edge_distance >= distance - 0.5  # this side is the closest edge here
    inside = (distance > 0) & nearest & (geometry.inside > 0.5)
    candidates = along[inside]
    centre = float(candidates[noise.integers(0, candidates.size)])
    half_span = (30, 55, 85)[level - 1] * rng.uniform(0.8, 1.2)
    depth = (16, 26, 40)[level - 1] * rng.uniform(0.8, 1.2)
    offset = along - centre
    if geometry.perimeter:
        offset = (offset + geometry.perimeter / 2) % geometry.perimeter - geometry.perimeter / 2
    waviness = depth * (0.75 + 0.25 * np.sin(offset / rng.uniform(9, 16)))
    region = inside & (np.abs(offset) < half_span) & (distance < waviness)
    if not region.any():
        region = inside & (distance < depth)
    period = rng.uniform(3.5, 6)
    fringes = np.stack([np.cos(2 * math.pi * distance / period + phase) for phase in (0.0, 2.1, 4.2)], axis=-1)
    falloff = np.clip(1 - distance / np.maximum(waviness, 1), 0, 1) * np.clip((half_span - np.abs(offset)) / 8, 0, 1)
    # The air gap reflects: the band is brighter than the crystal, with coloured fringes.
    alpha = np.where(region, 0.8 * falloff, 0)
    colour = picture * (1.15 + 0.4 * fringes) + 16
    picture = _blend(picture, colour, alpha)
    rows, cols = np.nonzero(region)
    for _ in range(rng.randint(2, 4 + 4 * level)):
        index = int(noise.integers(0, rows.size))
        x, y, r = float(cols[index]), float(rows[index]), rng.uniform(1.5, 3.5)
        pen.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 60), outline=(70, 74, 84, 200), width=1)
    return picture, [_box(DELAMINATION, [float(cols.min()), float(cols.max())], [float(rows.min()), float(rows.max())], 1)]


def _contamination(rng: random.Random, geometry: _Geometry, xs: Array, ys: Array, picture: Array,
                   pen: ImageDraw.ImageDraw, level: int) -> tuple[Array, list[DefectBox]]:
    """Smudges (handling, residue) and dust spots on the polished surface."""
    boxes = []
    for _ in range(rng.randint(*((1, 1), (1, 2), (2, 4))[level - 1])):
        cx, cy = _interior_point(rng, geometry, 24)
        rx, ry = rng.uniform(7, 13 + 6 * level), rng.uniform(5, 10 + 5 * level)
        turn = rng.uniform(0, math.pi)
        u = (xs - cx) * math.cos(turn) + (ys - cy) * math.sin(turn)
        v = -(xs - cx) * math.sin(turn) + (ys - cy) * math.cos(turn)
        reach = (u / rx) ** 2 + (v / ry) ** 2
        ridges = 0.75 + 0.25 * np.cos(np.sqrt(reach) * rng.uniform(9, 15))  # fingerprint-like whorls
        alpha = np.exp(-reach * 1.6) * ridges * rng.uniform(0.6, 0.8) * geometry.inside
        residue = np.array([rng.uniform(105, 130), rng.uniform(95, 115), rng.uniform(75, 95)], dtype=np.float32)
        picture = _blend(picture, np.broadcast_to(residue, picture.shape), alpha)
        extent = math.sqrt(2.0)  # alpha falls below ~4% outside twice the radii
        reach_x = extent * math.hypot(rx * math.cos(turn), ry * math.sin(turn))
        reach_y = extent * math.hypot(rx * math.sin(turn), ry * math.cos(turn))
        boxes.append(_box(SURFACE_CONTAMINATION, [cx - reach_x, cx + reach_x], [cy - reach_y, cy + reach_y], 0))
    if level >= 2:
        cx, cy = _interior_point(rng, geometry, 20)
        spot_xs, spot_ys = [], []
        for _ in range(rng.randint(3, 4 + 3 * level)):
            x, y, r = cx + rng.gauss(0, 10), cy + rng.gauss(0, 10), rng.uniform(0.8, 2.0)
            pen.ellipse((x - r, y - r, x + r, y + r), fill=(92, 84, 70, 190))
            spot_xs += [x - r, x + r]
            spot_ys += [y - r, y + r]
        boxes.append(_box(SURFACE_CONTAMINATION, spot_xs, spot_ys))
    return picture, boxes


def _harmless_glint(rng: random.Random, geometry: _Geometry, pen: ImageDraw.ImageDraw) -> None:
    x, y = _interior_point(rng, geometry, 20)
    r = rng.uniform(3, 7)
    pen.ellipse((x - r, y - r * 0.5, x + r, y + r * 0.5), fill=(255, 255, 255, 60))


def _scale_bar(pen: ImageDraw.ImageDraw) -> None:
    """A 10 mm bar at the stage's calibration (about 4.6 px/mm), as inspection cameras print."""
    x, y = IMAGE_SIZE - 70, IMAGE_SIZE - 16
    pen.line((x, y, x + 46, y), fill=(225, 225, 225), width=2)
    pen.text((x + 8, y - 13), "10 mm", fill=(225, 225, 225), font=ImageFont.load_default(10))
