"""Seed step: hourly telemetry from a fleet of radiation detectors, with failures and their build-up.

Everything is computed as (equipment x hour) numpy arrays. Before a failure a unit drifts
for a few days in the way its failure mode shows (the HV supply wanders, the detector loses
gain and gets noisier, the cooler runs hot and shakes); rows in the seven days before it are
labelled `failure_within_7d`. A repair takes the unit offline for some hours (no rows) and
resets `hours_since_service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from services.demo.context import DemoContext, StepCounts, drop_raw_table, replace_raw_table

TABLE = "equipment_telemetry"
TAGS = {"data_domain": "operations"}
START = datetime(2026, 1, 1, tzinfo=UTC)
HOURS = 21 * 24
LABEL_HORIZON_HOURS = 7 * 24
FAILING_SHARE = 0.45  # of units that fail in, or within a few days after, the window

COLUMNS_DDL = """
  reading_id STRING NOT NULL,
  equipment_id STRING,
  equipment_type STRING,
  site STRING,
  recorded_at TIMESTAMP,
  temperature_c DOUBLE,
  hv_voltage DOUBLE,
  count_rate_cps DOUBLE,
  background_cps DOUBLE,
  vibration_mm_s DOUBLE,
  power_draw_w DOUBLE,
  hours_since_service INT,
  failure_within_7d BOOLEAN,
  failure_mode STRING
"""

HV_SUPPLY_DRIFT = "hv_supply_drift"
DETECTOR_DEGRADATION = "detector_degradation"
COOLING_FAILURE = "cooling_failure"


@dataclass(frozen=True)
class EquipmentType:
    name: str
    id_prefix: str
    count: int
    sites: tuple[str, ...]
    temperature_c: float
    daily_swing_c: float  # outdoor portals follow the weather; indoor units barely move
    hv_voltage: float
    count_rate_cps: float
    background_cps: float
    vibration_mm_s: float
    power_draw_w: float
    failure_modes: tuple[str, ...]


FLEET = (
    # HPGe spectrometers: high bias, electrically cooled (the cryocooler vibrates and draws power).
    EquipmentType("gamma_spectrometer", "GS", 6, ("Ridgeview National Lab", "Harbor Point NPP"),
                  27.5, 0.6, 3500.0, 1850.0, 42.0, 1.8, 165.0,
                  (COOLING_FAILURE, HV_SUPPLY_DRIFT, DETECTOR_DEGRADATION)),
    # Geiger-Mueller area monitors: low voltage, low rates, no moving parts.
    EquipmentType("area_monitor", "AM", 8, ("Harbor Point NPP", "Lakeside Medical Center", "Ridgeview National Lab"),
                  23.5, 0.8, 550.0, 14.0, 11.0, 0.15, 12.0, (HV_SUPPLY_DRIFT, DETECTOR_DEGRADATION)),
    # Plastic-scintillator portal monitors outdoors: large volumes, high background, cabinet cooling.
    EquipmentType("portal_monitor", "PM", 6, ("Port of Wexford", "Harbor Point NPP", "Eastfield Waste Facility"),
                  4.0, 5.5, 1250.0, 2300.0, 2150.0, 0.6, 85.0,
                  (DETECTOR_DEGRADATION, COOLING_FAILURE, HV_SUPPLY_DRIFT)),
)


def build_telemetry(noise: np.random.Generator) -> pd.DataFrame:
    units = [(kind, n) for kind in FLEET for n in range(kind.count)]
    count = len(units)
    hours = np.arange(HOURS, dtype=np.float64)[None, :]

    def per_unit(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)[:, None]

    kinds = [kind for kind, _ in units]
    ids = [f"{kind.id_prefix}-{(FLEET.index(kind) + 1) * 100 + n + 1}" for kind, n in units]
    sites = [kind.sites[noise.integers(len(kind.sites))] for kind in kinds]
    fails = np.zeros(count, dtype=bool)
    fails[noise.permutation(count)[: round(count * FAILING_SHARE)]] = True
    modes = _failure_modes(noise, kinds, fails)
    failure_hour = np.where(fails, noise.integers(96, HOURS + 120, count), np.iinfo(np.int32).max)[:, None]
    lead = noise.integers(72, 216, count)[:, None].astype(np.float64)
    downtime = noise.integers(4, 17, count)[:, None]
    before_failure = hours < failure_hour
    # How far along the degradation is: 0 when healthy, rising (faster at the end) to 1 at failure.
    ramp = np.clip((hours - (failure_hour - lead)) / lead, 0, 1) ** 1.6 * before_failure
    mode = np.asarray(modes)[:, None]
    hv_ramp = ramp * (mode == HV_SUPPLY_DRIFT)
    degradation = ramp * (mode == DETECTOR_DEGRADATION)
    cooling = ramp * (mode == COOLING_FAILURE)

    shape = (count, HOURS)
    daily = np.sin(2 * np.pi * (hours - 9) / 24)  # warmest mid-afternoon
    temperature = per_unit([k.temperature_c for k in kinds]) + noise.normal(0, 0.8, (count, 1))
    temperature = temperature + per_unit([k.daily_swing_c for k in kinds]) * daily + noise.normal(0, 0.3, shape)
    temperature += cooling * noise.uniform(8, 18, (count, 1))
    transient = _transients(noise, count)
    temperature += transient * noise.uniform(2, 5, (count, 1))

    nominal_hv = per_unit([k.hv_voltage for k in kinds])
    drift = noise.choice([-1.0, 1.0], (count, 1)) * noise.uniform(0.02, 0.06, (count, 1))
    hv = nominal_hv * (1 + drift * hv_ramp) + noise.normal(0, 1, shape) * nominal_hv * 0.0008 * (1 + 8 * hv_ramp)

    gain = 1 + drift * hv_ramp * 4  # a few percent of bias moves the gain several times as much
    rate = per_unit([k.count_rate_cps for k in kinds]) * noise.uniform(0.9, 1.1, (count, 1))
    rate = rate * gain * (1 - degradation * noise.uniform(0.2, 0.4, (count, 1)))
    rate *= np.exp(noise.normal(0, 0.03, shape))

    background = per_unit([k.background_cps for k in kinds]) * noise.uniform(0.9, 1.1, (count, 1))
    background = background * (1 + 0.04 * np.sin(2 * np.pi * (hours - 5) / 24))  # radon peaks at dawn
    background *= (1 + degradation * noise.uniform(0.3, 0.9, (count, 1))) * np.exp(noise.normal(0, 0.025, shape))

    vibration = per_unit([k.vibration_mm_s for k in kinds]) * (1 + cooling * noise.uniform(1.5, 3.0, (count, 1)))
    vibration = np.abs(vibration + noise.normal(0, 0.05, shape) * per_unit([k.vibration_mm_s for k in kinds]))

    power = per_unit([k.power_draw_w for k in kinds]) * (1 + 0.35 * cooling + 0.05 * hv_ramp)
    power += noise.normal(0, 0.01, shape) * per_unit([k.power_draw_w for k in kinds])

    service_offset = noise.integers(24, 2200, (count, 1))
    back_online = failure_hour + downtime
    since_service = np.where(hours >= back_online, hours - back_online, hours + service_offset).astype(np.int64)
    offline = (hours >= failure_hour) & (hours < back_online)
    labelled = before_failure & (hours >= failure_hour - LABEL_HORIZON_HOURS)

    keep = ~offline.ravel()
    recorded = pd.DatetimeIndex(START + pd.to_timedelta(np.tile(np.arange(HOURS), count), unit="h"))
    frame = pd.DataFrame(
        {
            "equipment_id": np.repeat(ids, HOURS),
            "equipment_type": np.repeat([k.name for k in kinds], HOURS),
            "site": np.repeat(sites, HOURS),
            "recorded_at": recorded,
            "temperature_c": temperature.ravel().round(2),
            "hv_voltage": hv.ravel().round(1),
            "count_rate_cps": rate.ravel().round(1),
            "background_cps": background.ravel().round(2),
            "vibration_mm_s": vibration.ravel().round(3),
            "power_draw_w": power.ravel().round(1),
            "hours_since_service": since_service.ravel(),
            "failure_within_7d": labelled.ravel(),
            "failure_mode": np.where(labelled, mode, None).ravel(),
        }
    )[keep].reset_index(drop=True)
    frame.insert(0, "reading_id", frame["equipment_id"] + "-" + frame["recorded_at"].dt.strftime("%Y%m%d%H"))
    return frame


def _failure_modes(noise: np.random.Generator, kinds: list[EquipmentType], fails: np.ndarray) -> list[str]:
    """Failing units of a type take its failure modes in turn, so every mode shows up in the fleet."""
    turn = {kind.name: int(noise.integers(len(kind.failure_modes))) for kind in FLEET}
    modes = []
    for kind, failing in zip(kinds, fails, strict=True):
        modes.append(kind.failure_modes[turn[kind.name] % len(kind.failure_modes)] if failing else "")
        turn[kind.name] += int(failing)
    return modes


def _transients(noise: np.random.Generator, count: int) -> np.ndarray:
    """Harmless excursions (a cabinet door left open, a sunny afternoon): 3-8 hours, no failure."""
    start = noise.integers(0, HOURS, count)[:, None]
    length = noise.integers(3, 9, count)[:, None]
    hours = np.arange(HOURS)[None, :]
    happens = (noise.random(count) < 0.3)[:, None]
    return (happens & (hours >= start) & (hours < start + length)).astype(np.float64)


def seed(context: DemoContext) -> StepCounts:
    frame = build_telemetry(context.numpy("telemetry"))
    replace_raw_table(context, TABLE, COLUMNS_DDL, frame, TAGS)
    failures = frame.loc[frame["failure_within_7d"], "equipment_id"].nunique()
    return {"telemetry_rows": len(frame), "equipment_units": frame["equipment_id"].nunique(), "failing_units": int(failures)}


def clear(context: DemoContext) -> None:
    drop_raw_table(context, TABLE)
