"""The demo's sheet names, apart from the seed steps: reading them must not import PyMuPDF and
Pillow (about 2 s), which every page would pay for when it looks for the demo's model."""

from __future__ import annotations

INVOICES_SHEET = "Medical Invoices - January 2026"
CRYSTALS_SHEET = "Defect Detection - Scintillator Crystals"
TELEMETRY_SHEET = "Predictive Maintenance - Detector Fleet Telemetry"
DEMO_SHEET_NAMES = (INVOICES_SHEET, CRYSTALS_SHEET, TELEMETRY_SHEET)
