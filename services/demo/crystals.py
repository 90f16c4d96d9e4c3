"""Seed step: scintillator crystal inspections, one image per inspection plus its sensor context.

The defect class is drawn first and the process readings follow it, the way a quality
engineer would recognise them: cracks come with temperature excursions (thermal shock),
inclusions with fast growth, delamination with humid handling, and every defect costs
light yield and energy resolution in proportion to its severity.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from services.demo.context import DemoContext, StepCounts, derive_seed, drop_raw_table, remove_volume, replace_raw_table
from services.demo.crystal_image import (
    CRACK,
    DELAMINATION,
    INCLUSION,
    NONE,
    SURFACE_CONTAMINATION,
    CrystalSpec,
    draw_crystal,
)

TABLE = "inspection_records"
VOLUME = "crystal_images"
# Detector serials trace back to the customer who ordered the detector.
TAGS = {"CONFIDENTIAL": "true", "data_domain": "manufacturing"}
INSPECTION_COUNT = 150
FIRST_INSPECTION = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)

COLUMNS_DDL = """
  inspection_id STRING NOT NULL,
  image_path STRING,
  detector_serial STRING,
  crystal_type STRING,
  batch_id STRING,
  inspected_at TIMESTAMP,
  temperature_c DOUBLE,
  humidity_pct DOUBLE,
  growth_rate_mm_h DOUBLE,
  light_yield DOUBLE,
  energy_resolution_pct DOUBLE,
  defect_type STRING,
  severity STRING,
  defect_boxes STRING,
  inspector STRING
"""


@dataclass(frozen=True)
class CrystalKind:
    name: str
    serial_family: str
    batch_letter: str
    share: float
    round_face_share: float  # cylinders are inspected end-on
    growth_rate_mm_h: float  # nominal Bridgman/Czochralski pulling rate
    light_yield: float  # photons per keV
    resolution_pct: float  # FWHM at 662 keV (Cs-137)


CRYSTAL_KINDS = (
    CrystalKind("NaI(Tl)", "NAI-3X3", "N", 0.40, 0.85, 2.0, 38.0, 6.9),
    CrystalKind("CsI(Tl)", "CSI-SLB", "C", 0.25, 0.2, 1.6, 54.0, 7.4),
    CrystalKind("LaBr3", "LAB-2X2", "L", 0.15, 0.9, 0.8, 63.0, 2.9),
    CrystalKind("BGO", "BGO-BLK", "B", 0.20, 0.15, 1.2, 8.2, 10.5),
)
DEFECT_SHARES = {NONE: 0.34, INCLUSION: 0.20, CRACK: 0.18, DELAMINATION: 0.12, SURFACE_CONTAMINATION: 0.16}
SEVERITY_SHARES = {"minor": 0.45, "major": 0.35, "critical": 0.20}
# Fraction of light yield lost, and relative resolution worsening, by severity.
LIGHT_LOSS = {"none": (0.0, 0.02), "minor": (0.03, 0.08), "major": (0.08, 0.18), "critical": (0.18, 0.35)}
RESOLUTION_LOSS = {"none": (0.0, 0.03), "minor": (0.03, 0.08), "major": (0.1, 0.2), "critical": (0.25, 0.45)}
INSPECTORS = ("L. Chen", "M. Okonkwo", "S. Varga", "D. Ruiz", "K. Ivanova")
BATCHES_PER_KIND = 4


@dataclass(frozen=True)
class Inspection:
    inspection_id: str
    kind: CrystalKind
    batch_id: str
    detector_serial: str
    inspected_at: datetime
    temperature_c: float
    humidity_pct: float
    growth_rate_mm_h: float
    light_yield: float
    energy_resolution_pct: float
    defect_type: str
    severity: str
    inspector: str
    spec: CrystalSpec


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _conditions(rng: random.Random, defect: str, kind: CrystalKind, batch_rate: float) -> tuple[float, float, float]:
    temperature = rng.gauss(22.0, 0.7)
    humidity = rng.gauss(34.0, 5.0)
    growth = batch_rate * rng.gauss(1.0, 0.06)
    if defect == CRACK and rng.random() < 0.75:
        temperature = rng.gauss(27.5, 1.8)  # a thermal excursion during cool-down or handling
    if defect == INCLUSION and rng.random() < 0.75:
        growth = batch_rate * rng.uniform(1.35, 1.7)  # fast pulling traps particles at the interface
    if defect == DELAMINATION and rng.random() < 0.75:
        humidity = rng.gauss(58.0, 6.0)  # moisture under the optical coupling or housing
    if defect == SURFACE_CONTAMINATION and rng.random() < 0.6:
        humidity = rng.gauss(47.0, 5.0)
    return round(temperature, 1), round(min(95.0, max(5.0, humidity)), 1), round(growth, 2)


def build_inspections(rng: random.Random, seed: int, count: int = INSPECTION_COUNT) -> list[Inspection]:
    batch_rates = {
        (kind.name, n): kind.growth_rate_mm_h * rng.uniform(0.92, 1.08) for kind in CRYSTAL_KINDS for n in range(BATCHES_PER_KIND)
    }
    serial_counter = {kind.name: rng.randint(1000, 4000) for kind in CRYSTAL_KINDS}
    moment = FIRST_INSPECTION
    inspections = []
    for index in range(count):
        kind = rng.choices(CRYSTAL_KINDS, weights=[k.share for k in CRYSTAL_KINDS])[0]
        batch = rng.randrange(BATCHES_PER_KIND)
        defect = _pick(rng, DEFECT_SHARES)
        severity = "none" if defect == NONE else _pick(rng, SEVERITY_SHARES)
        temperature, humidity, growth = _conditions(rng, defect, kind, batch_rates[(kind.name, batch)])
        light = kind.light_yield * rng.gauss(1.0, 0.025) * (1 - rng.uniform(*LIGHT_LOSS[severity]))
        resolution = kind.resolution_pct * rng.gauss(1.0, 0.03) * (1 + rng.uniform(*RESOLUTION_LOSS[severity]))
        serial_counter[kind.name] += rng.randint(1, 6)
        moment = _next_working_moment(rng, moment)
        inspection_id = f"INSP-{index + 1:04d}"
        inspections.append(
            Inspection(
                inspection_id=inspection_id,
                kind=kind,
                batch_id=f"XL-2512-{kind.batch_letter}{batch + 1:02d}",
                detector_serial=f"{kind.serial_family}-25{40 + batch:02d}-{serial_counter[kind.name]:05d}",
                inspected_at=moment,
                temperature_c=temperature,
                humidity_pct=humidity,
                growth_rate_mm_h=growth,
                light_yield=round(light, 2),
                energy_resolution_pct=round(resolution, 2),
                defect_type=defect,
                severity=severity,
                inspector=rng.choice(INSPECTORS),
                spec=CrystalSpec(kind.name, rng.random() < kind.round_face_share, defect, severity,
                                 derive_seed(seed, "crystal-image", inspection_id)),
            )
        )
    return inspections


def _next_working_moment(rng: random.Random, moment: datetime) -> datetime:
    """Inspections run on weekdays, 07:00-18:00, a few minutes to an hour apart."""
    moment += timedelta(minutes=rng.randint(6, 55), seconds=rng.randint(0, 59))
    while moment.weekday() >= 5 or not 7 <= moment.hour < 18:
        moment = (moment + timedelta(days=1)).replace(hour=7, minute=rng.randint(0, 20))
    return moment


def seed(context: DemoContext) -> StepCounts:
    files = context.workbench.backend.files
    inspections = build_inspections(context.random("crystals"), context.seed)
    rows = []
    for inspection in inspections:
        image = draw_crystal(inspection.spec)
        path = f"{context.volume(VOLUME)}/{inspection.inspection_id}.png"
        files.write_bytes(path, image.png)
        rows.append(
            {
                "inspection_id": inspection.inspection_id,
                "image_path": path,
                "detector_serial": inspection.detector_serial,
                "crystal_type": inspection.kind.name,
                "batch_id": inspection.batch_id,
                "inspected_at": inspection.inspected_at,
                "temperature_c": inspection.temperature_c,
                "humidity_pct": inspection.humidity_pct,
                "growth_rate_mm_h": inspection.growth_rate_mm_h,
                "light_yield": inspection.light_yield,
                "energy_resolution_pct": inspection.energy_resolution_pct,
                "defect_type": inspection.defect_type,
                "severity": inspection.severity,
                "defect_boxes": json.dumps([box.to_json() for box in image.boxes], separators=(",", ":")),
                "inspector": inspection.inspector,
            }
        )
    frame = pd.DataFrame(rows)
    frame["inspected_at"] = pd.to_datetime(frame["inspected_at"], utc=True)
    replace_raw_table(context, TABLE, COLUMNS_DDL, frame, TAGS)
    return {
        "crystal_images": len(inspections),
        "defective_crystals": sum(i.defect_type != NONE for i in inspections),
    }


def clear(context: DemoContext) -> None:
    drop_raw_table(context, TABLE)
    remove_volume(context, VOLUME)
