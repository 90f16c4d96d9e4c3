"""The offline drafter on each demo sheet: its accuracy beside the majority answer, and what its
confidences mean (confidence band → measured agreement).

Two measurements per label type. Leave-one-out on the sheet's expert labels: what the drafter
itself reports, and what its confidences are made of. Held out: the drafts it made for the
items nobody labeled, compared with the demo's ground truth (the raw tables keep each item's
true defect, urgency and department, failure mode), so a reader can check that "drafts at
this confidence agreed 92 % of the time" holds on items the drafter never saw labeled.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import Measurement
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.domain.qa_pair import LabelingMode
from services.core.domain.template import Template, TemplateStatus
from services.core.jobs import JobRunner
from services.core.workbench import Workbench, forget_prepared_stores
from services.data.sheets import SheetService
from services.demo import crystals, invoices, open_demo_ready_workbench, telemetry
from services.demo.sheets import CRYSTALS_SHEET, INVOICES_SHEET, TELEMETRY_SHEET
from services.generate.draft_calibration import DraftCalibration, label_key
from services.generate.generation import GenerationRequest, GenerationService, offline_calibration
from services.templates.prompt_templates import TemplateService

GENERATION_WAIT_S = 900
SHORT_NAMES = {INVOICES_SHEET: "Invoices", CRYSTALS_SHEET: "Crystals", TELEMETRY_SHEET: "Telemetry"}


@dataclass(frozen=True)
class _Truth:
    """Where a demo sheet's ground truth is, for the classification template drafted on it."""

    template: str
    query: str  # item_ref, then the fields of the true label

    def labels(self, wb: Workbench) -> dict[str, str]:
        rows = wb.backend.engine.query(self.query)
        return {r["item_ref"]: label_key(json.dumps({k: v for k, v in r.items() if k != "item_ref"})) for r in rows}


_TRUTH = {
    CRYSTALS_SHEET: _Truth(
        "Defect Classification - Visual Inspection",
        f"SELECT inspection_id AS item_ref, defect_type, severity FROM mirion_vital.raw.{crystals.TABLE}",
    ),
    INVOICES_SHEET: _Truth(
        "Invoice Triage", f"SELECT invoice_id AS item_ref, urgency, department FROM mirion_vital.raw.{invoices.TABLE}"
    ),
    TELEMETRY_SHEET: _Truth(
        "Failure Risk - 7 Day",
        "SELECT reading_id AS item_ref, CASE WHEN failure_within_7d THEN failure_mode ELSE 'none' END AS failure_mode "
        f"FROM mirion_vital.raw.{telemetry.TABLE}",
    ),
}


def _labeled_types(wb: Workbench) -> set[tuple[str, str]]:
    rows = wb.backend.engine.query(f"SELECT DISTINCT sheet_id, label_type FROM {wb.table('canonical_labels')}")
    return {(r["sheet_id"], r["label_type"]) for r in rows}


@dataclass(frozen=True)
class _HeldOut:
    by_confidence: dict[float | None, tuple[int, int]]  # confidence -> (drafts that were right, drafts)
    truths: Counter[str]  # the drafted items' true labels
    fields_right: Counter[str]  # field -> drafts naming its true value
    field_truths: dict[str, Counter[str]]  # field -> the drafted items' true values

    def add(self, confidence: float | None, drafted: str, true: str) -> None:
        agreed, drafts = self.by_confidence.get(confidence, (0, 0))
        self.by_confidence[confidence] = (agreed + (label_key(drafted) == true), drafts + 1)
        self.truths[true] += 1
        draft, truth = json.loads(drafted), json.loads(true)
        for name, value in truth.items():
            self.fields_right[name] += draft.get(name) == value
            self.field_truths.setdefault(name, Counter())[json.dumps(value)] += 1

    def lines(self) -> list[str]:
        drafts = sum(d for _, d in self.by_confidence.values())
        if not drafts:
            return ["    held out: no drafts"]
        agreed = sum(a for a, _ in self.by_confidence.values())
        lines = [
            f"    held out: {agreed / drafts:.0%} of {drafts} drafts right; answering the most common true label "
            f"would be right {self.truths.most_common(1)[0][1] / drafts:.0%}"
        ]
        if len(self.field_truths) > 1:
            lines += [
                f"    held out, {name}: drafter {self.fields_right[name] / drafts:.0%}, most common true value "
                f"{truths.most_common(1)[0][1] / drafts:.0%}"
                for name, truths in self.field_truths.items()
            ]
        return lines


def _held_out(wb: Workbench, template: Template, truth: _Truth) -> _HeldOut:
    """The drafts of a fresh AI-generated Training Sheet, against the demo's ground truth."""
    service = GenerationService(wb)
    started = service.start(GenerationRequest(template.source_sheet_id or "", template.id, LabelingMode.AI_GENERATED))
    job = JobRunner(wb).wait(started.job_id or "", GENERATION_WAIT_S)
    if job.status != "succeeded":
        raise RuntimeError(f"generating {template.name} ended {job.status}: {job.error}")
    true = truth.labels(wb)
    found = _HeldOut({}, Counter(), Counter(), {})
    for pair in service.first_pairs(started.id, 1_000_000):
        if pair.labeling_mode == LabelingMode.AI_GENERATED and pair.response:
            found.add(pair.ai_confidence, pair.response, true[pair.item_ref])
    return found


def _table(title: str, calibration: DraftCalibration, held_out: _HeldOut | None) -> list[str]:
    lines = [
        f"{title}: drafter {calibration.accuracy:.0%} ({calibration.agreed} of {calibration.labeled}) · majority "
        f"{calibration.majority_accuracy:.0%} ({calibration.majority_agreed}) · "
        + ("drafts offered" if calibration.offered else f"no drafts offered: {calibration.why_not_offered()}")
    ]
    for record in calibration.fields if len(calibration.fields) > 1 else ():
        lines.append(f"    {record.name}: drafter {record.agreed / calibration.labeled:.0%}, majority {record.majority_agreed / calibration.labeled:.0%}")
    if not calibration.offered:
        return lines
    if held_out is not None:
        lines += held_out.lines()
    lines.append("    confidence (raw score band)      leave-one-out agreement   held-out agreement")
    for band in calibration.bands:
        agreed, drafts = held_out.by_confidence.get(band.agreement, (0, 0)) if held_out else (0, 0)
        measured = f"{agreed / drafts:.0%} of {drafts}" if drafts else "no drafts at this confidence"
        lines.append(
            f"    {band.agreement:.2f} ({band.min_score:.2f}–{band.max_score:.2f})".ljust(37)
            + f"{band.agreement:.0%} of {band.drafts}".ljust(26) + measured
        )
    return lines


def _measure(wb: Workbench, print_line: Callable[[str], Any]) -> list[Measurement]:
    sheets = {s.id: s for s in SheetService(wb).list()}
    labeled = _labeled_types(wb)
    rows = []
    for template in TemplateService(wb).list(status=TemplateStatus.PUBLISHED):
        sheet = sheets.get(template.source_sheet_id or "")
        if sheet is None or (sheet.id, template.label_type) not in labeled:
            continue
        calibration = offline_calibration(wb, sheet.id, template.id)
        truth = _TRUTH.get(sheet.name)
        held_out = _held_out(wb, template, truth) if truth and truth.template == template.name and calibration.offered else None
        title = f"{SHORT_NAMES.get(sheet.name, sheet.name)} · {template.label_type} ({template.name})"
        for line in _table(title, calibration, held_out):
            print_line(line)
        verdict = "offered" if calibration.offered else "no drafts offered"
        bands = "; ".join(f"{b.agreement:.0%} of {b.drafts}" for b in calibration.bands) if calibration.offered else calibration.why_not_offered()
        rows.append(Measurement(
            f"Offline drafter accuracy: {title}", round(calibration.accuracy * 100, 1), "%",
            f"> majority {calibration.majority_accuracy:.0%}", calibration.accuracy > calibration.majority_accuracy,
            f"{calibration.labeled} labeled, leave-one-out; {verdict}; bands: {bands}",
        ))
    return rows


def run() -> list[Measurement]:
    root = Path(tempfile.mkdtemp(prefix="vital-bench-drafter-"))
    home = root / "home"
    try:
        forget_prepared_stores()
        wb = open_demo_ready_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "1"}))
        return _measure(wb, print)
    finally:
        forget_prepared_stores()
        release_home(home)
        shutil.rmtree(root, ignore_errors=True)
