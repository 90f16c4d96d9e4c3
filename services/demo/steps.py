"""The demo's seed steps, in the order they run (a step may read what earlier steps wrote).

To extend the demo (templates, canonical labels, training sheets), write a module with
`seed(context) -> counts` and `clear(context)` and append a step here. Reset clears the steps
in reverse order, so a step's `clear` runs before the clears of the steps it depends on.
"""

from __future__ import annotations

from services.demo import canonical_labels, crystals, invoices, sheets, telemetry, templates, training_sheets
from services.demo.context import SeedStep

SEED_STEPS: tuple[SeedStep, ...] = (
    SeedStep("medical_invoices", invoices.seed, invoices.clear),
    SeedStep("crystal_inspections", crystals.seed, crystals.clear),
    SeedStep("equipment_telemetry", telemetry.seed, telemetry.clear),
    SeedStep("sheets", sheets.seed, sheets.clear),
    SeedStep("canonical_labels", canonical_labels.seed, canonical_labels.clear),
    SeedStep("templates", templates.seed, templates.clear),
    SeedStep("training_sheets", training_sheets.seed, training_sheets.clear),
)
