"""Seed step: canonical labels that demo experts made on part of each demo sheet (Mode B).

The labels are the ground truth the raw tables keep (defect type, severity and boxes of each
crystal; urgency, department and entities of each invoice; the failure mode of a reading),
so a demo can check drafts against them. Governance is mixed the way the spec describes:
invoice entities stay PHI-restricted, urgency labels were cleared for training by a
clinical expert, a held-out crystal test set is kept out of training, and crystals whose
image shows an equipment serial number are restricted (so TRAIN's summary shows pairs kept
out for stated reasons). A few labels were
corrected by a senior inspector, so version history, diffs and rollback have something to
show. Everything is written set-based: three bulk inserts, no per-label statements.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from services.core.domain.canonical_label import ChangeKind, Confidence, LabelContent, LabelKey
from services.core.domain.governance import ALL_USES, DataClassification, UsageConstraints, Use
from services.core.governance import constraints_from_tags
from services.demo import crystals, invoices, telemetry
from services.demo.context import DemoContext, StepCounts
from services.demo.invoice_records import Invoice, Notice, money
from services.demo.sheets import CRYSTALS_SHEET, INVOICES_SHEET, TELEMETRY_SHEET, existing_demo_sheet_ids
from services.labels.canonical_labels_store import content_params
from services.labels.constraint_audit import ConstraintChange, audit_frame, governance_differs
from services.labels.usage_audit_store import UsageAuditStore

BILLING_EXPERT = "billing_expert@mirion.example"
CLINICAL_EXPERT = "clinical_expert@mirion.example"
QA_INSPECTOR = "qa_inspector@mirion.example"
SENIOR_INSPECTOR = "senior_inspector@mirion.example"
RELIABILITY_ENGINEER = "reliability_engineer@mirion.example"

CRYSTAL_CLASSIFIED_SHARE = 0.4
CRYSTAL_LOCALIZED_SHARE = 0.5  # of the classified crystals
CRYSTAL_HELD_OUT_SHARE = 0.15  # of the classified crystals: a test set kept out of training
CRYSTAL_SERIAL_SHARE = 0.12  # of the other classified crystals: a serial number shows, so never in weights
CRYSTAL_CORRECTED = 8  # classified crystals whose severity a senior inspector corrected
CRYSTAL_CLEAN_LOCALIZED = 5  # clean crystals localized too: no boxes is an answer
INVOICE_CLASSIFIED_SHARE = 0.3
INVOICE_CLEARED_SHARE = 0.6  # of the classified invoices: cleared for training by a clinical expert
INVOICE_ENTITIES_SHARE = 0.3
INVOICE_DOCUMENT_TYPES = 8
INVOICE_SUMMARIES = 5
TELEMETRY_LABELS = 12
LABELING_STARTED = datetime(2026, 1, 12, 8, 30, tzinfo=UTC)

HELD_OUT = UsageConstraints(
    (Use.EVALUATION, Use.TESTING), (Use.TRAINING, Use.VALIDATION, Use.FEW_SHOT),
    "Held-out test set - must not be seen during training to prevent data leakage", DataClassification.INTERNAL,
)
SERIAL_NUMBERS = UsageConstraints(
    (Use.EVALUATION, Use.FEW_SHOT, Use.TESTING), (Use.TRAINING, Use.VALIDATION),
    "Contains identifiable equipment serial numbers - compliance restriction", DataClassification.RESTRICTED,
)
CLEARED_CLASSIFICATION = UsageConstraints(ALL_USES, (), "No PHI in classification labels - safe for training", DataClassification.INTERNAL)
CLEARED_DOCUMENT_TYPE = UsageConstraints(ALL_USES, (), "A document type carries no patient data", DataClassification.INTERNAL)
_AUDIT_NAMESPACE = uuid.UUID("a3f1c7e2-6b0d-4e59-9c1a-7d2e8f4b5a60")
_SEVERITY_STEPS = ("minor", "major", "critical")


@dataclass(frozen=True)
class _Version:
    content: LabelContent
    by: str
    at: datetime
    kind: ChangeKind


@dataclass(frozen=True)
class _DemoLabel:
    key: LabelKey
    versions: tuple[_Version, ...]


class _Clock:
    """Labeling moments: working hours from mid-January, a few minutes per label."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._now = LABELING_STARTED

    def tick(self) -> datetime:
        self._now += timedelta(minutes=self._rng.randint(2, 9), seconds=self._rng.randint(0, 59))
        while self._now.weekday() >= 5 or not 8 <= self._now.hour < 18:
            self._now = (self._now + timedelta(days=1)).replace(hour=8, minute=self._rng.randint(0, 40))
        return self._now


def _one(key: LabelKey, data: dict[str, Any], by: str, at: datetime, constraints: UsageConstraints,
         confidence: str = Confidence.HIGH, notes: str = "") -> _DemoLabel:
    return _DemoLabel(key, (_Version(LabelContent(data, str(confidence), notes, constraints), by, at, ChangeKind.CREATE),))


def _share(rng: random.Random, refs: list[str], share: float) -> list[str]:
    return _some(rng, refs, round(len(refs) * share))


def _some(rng: random.Random, refs: list[str], count: int) -> list[str]:
    return sorted(rng.sample(refs, min(count, len(refs))))


# -- crystals ------------------------------------------------------------------------------
def _crystal_labels(context: DemoContext, sheet_id: str, clock: _Clock) -> list[_DemoLabel]:
    rng = context.random("canonical_labels", "crystals")
    engine = context.workbench.backend.engine
    rows = {r["inspection_id"]: r for r in engine.query(
        f"SELECT inspection_id, defect_type, severity, defect_boxes FROM {context.raw_table(crystals.TABLE)} ORDER BY inspection_id"
    )}
    defaults = constraints_from_tags(crystals.TAGS)
    classified = _share(rng, list(rows), CRYSTAL_CLASSIFIED_SHARE)
    held_out = set(_share(rng, classified, CRYSTAL_HELD_OUT_SHARE))
    # A stream of its own: the other draws (and so the other labels) stay as they were.
    serials = set(_share(context.random("canonical_labels", "crystal_serials"), [r for r in classified if r not in held_out], CRYSTAL_SERIAL_SHARE))
    defective = [ref for ref in classified if rows[ref]["defect_type"] != "none"]
    corrected = set(_some(rng, defective, CRYSTAL_CORRECTED))
    labels = []
    for ref in classified:
        row = rows[ref]
        truth = {"defect_type": row["defect_type"], "severity": row["severity"]}
        constraints = HELD_OUT if ref in held_out else SERIAL_NUMBERS if ref in serials else defaults
        confidence = Confidence.MEDIUM if row["severity"] == "minor" and rng.random() < 0.5 else Confidence.HIGH
        key = LabelKey(sheet_id, ref, "classification")
        first = _Version(LabelContent(truth, str(confidence), "", constraints), QA_INSPECTOR, clock.tick(), ChangeKind.CREATE)
        if ref not in corrected:
            labels.append(_DemoLabel(key, (first,)))
            continue
        step = _SEVERITY_STEPS.index(row["severity"])
        guessed = _SEVERITY_STEPS[step - 1] if step > 0 else _SEVERITY_STEPS[1]
        draft = LabelContent({**truth, "severity": guessed}, str(Confidence.MEDIUM), "Judged from the image alone", constraints)
        note = f"Severity {row['severity']}, not {guessed}: the light yield loss and resolution say so"
        fixed = LabelContent(truth, str(Confidence.HIGH), note, constraints)
        labels.append(_DemoLabel(key, (
            _Version(draft, QA_INSPECTOR, first.at, ChangeKind.CREATE),
            _Version(fixed, SENIOR_INSPECTOR, first.at + timedelta(days=2, minutes=rng.randint(5, 300)), ChangeKind.EDIT),
        )))
    clean = [ref for ref in classified if rows[ref]["defect_type"] == "none"]
    localized = _share(rng, defective, CRYSTAL_LOCALIZED_SHARE) + _some(rng, clean, CRYSTAL_CLEAN_LOCALIZED)
    for ref in sorted(localized):
        boxes = [
            {"x_min": b["box"][0], "y_min": b["box"][1], "x_max": b["box"][2], "y_max": b["box"][3], "label": b["label"]}
            for b in _json_list(rows[ref]["defect_boxes"])
        ]
        notes = "" if boxes else "No defect to localize"
        labels.append(_one(LabelKey(sheet_id, ref, "localization"), {"boxes": boxes}, QA_INSPECTOR, clock.tick(), defaults, notes=notes))
    return labels


def _json_list(text: str | None) -> list[dict[str, Any]]:
    return json.loads(text or "[]")


# -- invoices ------------------------------------------------------------------------------
def _invoice_labels(context: DemoContext, sheet_id: str, clock: _Clock) -> list[_DemoLabel]:
    rng = context.random("canonical_labels", "invoices")
    engine = context.workbench.backend.engine
    rows = {r["invoice_id"]: r for r in engine.query(
        f"SELECT invoice_id, urgency, department, extracted_text FROM {context.raw_table(invoices.TABLE)} ORDER BY invoice_id"
    )}
    records = {i.invoice_id: i for i in invoices.build_invoices(context.random("invoices"))}
    readable = [ref for ref, row in rows.items() if row["extracted_text"] is not None]  # nobody can label the broken upload
    defaults = constraints_from_tags(invoices.TAGS)
    phi = UsageConstraints(defaults.allowed_uses, defaults.prohibited_uses, "Contains PHI - HIPAA compliance", defaults.data_classification)
    labels = []
    classified = _share(rng, readable, INVOICE_CLASSIFIED_SHARE)
    cleared = set(_share(rng, classified, INVOICE_CLEARED_SHARE))
    for ref in classified:
        data = {"urgency": rows[ref]["urgency"], "department": rows[ref]["department"]}
        constraints = CLEARED_CLASSIFICATION if ref in cleared else defaults
        labels.append(_one(LabelKey(sheet_id, ref, "classification"), data, CLINICAL_EXPERT, clock.tick(), constraints))
    for ref in _share(rng, readable, INVOICE_ENTITIES_SHARE):
        labels.append(_one(LabelKey(sheet_id, ref, "entity_extraction"), _entities(records[ref]), BILLING_EXPERT, clock.tick(), phi))
    for ref in _some(rng, readable, INVOICE_DOCUMENT_TYPES):
        kind = "invoice" if records[ref].notice is Notice.NONE else "past_due_notice"
        labels.append(_one(LabelKey(sheet_id, ref, "document_type"), {"document_type": kind}, BILLING_EXPERT, clock.tick(), CLEARED_DOCUMENT_TYPE))
    for ref in _some(rng, readable, INVOICE_SUMMARIES):
        summary = {"text": _summary(records[ref])}
        labels.append(_one(LabelKey(sheet_id, ref, "summarization"), summary, BILLING_EXPERT, clock.tick(), phi))
    return labels


def _entities(invoice: Invoice) -> dict[str, Any]:
    return {
        "patient_name": invoice.patient.name,
        "patient_dob": invoice.patient.dob.isoformat(),
        "insurance_id": invoice.patient.insurance_id,
        "invoice_number": invoice.invoice_number,
        "total_amount": invoice.total_cents / 100,
        "provider_name": invoice.provider.name,
        "procedure_codes": list(dict.fromkeys(item.code for item in invoice.items)),
    }


def _summary(invoice: Invoice) -> str:
    notice = {Notice.NONE: "", Notice.SECOND: " Second notice: the balance is past due.",
              Notice.FINAL: " Final notice: the account will be referred to collections."}[invoice.notice]
    return (
        f"{invoice.department_title} services at {invoice.provider.name}, {len(invoice.items)} line item(s) billed on "
        f"{invoice.invoice_date:%B %d, %Y}, total {money(invoice.total_cents)}, due {invoice.due_date:%B %d}.{notice}"
    )


# -- telemetry -----------------------------------------------------------------------------
def _telemetry_labels(context: DemoContext, sheet_id: str, clock: _Clock) -> list[_DemoLabel]:
    rng = context.random("canonical_labels", "telemetry")
    engine = context.workbench.backend.engine
    table = context.raw_table(telemetry.TABLE)
    failing = {r["reading_id"]: r["failure_mode"] for r in engine.query(
        f"SELECT reading_id, failure_mode FROM {table} WHERE failure_within_7d ORDER BY reading_id")}
    # Healthy readings: every 500th, so the sample is spread over the fleet without reading 10k rows.
    healthy = [r["reading_id"] for r in engine.query(
        f"SELECT reading_id FROM (SELECT reading_id, row_number() OVER (ORDER BY reading_id) AS n FROM {table} "
        "WHERE NOT failure_within_7d) AS t WHERE n % 500 = 0 ORDER BY reading_id")]
    defaults = constraints_from_tags(telemetry.TAGS)
    half = TELEMETRY_LABELS // 2
    chosen = [(ref, failing[ref]) for ref in _some(rng, list(failing), half)] + [(ref, "none") for ref in _some(rng, healthy, half)]
    return [
        _one(LabelKey(sheet_id, ref, "classification"), {"failure_mode": mode}, RELIABILITY_ENGINEER, clock.tick(), defaults)
        for ref, mode in sorted(chosen)
    ]


# -- writing -------------------------------------------------------------------------------
def _frames(labels: list[_DemoLabel]) -> tuple[pd.DataFrame, pd.DataFrame]:
    label_rows, version_rows = [], []
    for label in labels:
        first, last = label.versions[0], label.versions[-1]
        key = label.key
        label_rows.append({
            "id": key.label_id, "sheet_id": key.sheet_id, "item_ref": key.item_ref, "label_type": key.label_type,
            **content_params(last.content), "labeled_by": first.by, "labeled_at": first.at, "last_modified_by": last.by,
            "last_modified_at": last.at, "version": len(label.versions), "created_at": first.at,
        })
        for number, version in enumerate(label.versions, start=1):
            version_rows.append({
                "id": str(uuid.uuid5(_AUDIT_NAMESPACE, f"{key.label_id}/v{number}")), "canonical_label_id": key.label_id,
                "version": number, "sheet_id": key.sheet_id, "item_ref": key.item_ref, "label_type": key.label_type,
                **content_params(version.content), "change_kind": str(version.kind), "source_qa_pair_id": None,
                "modified_by": version.by, "modified_at": version.at,
            })
    labels_frame, versions_frame = pd.DataFrame(label_rows), pd.DataFrame(version_rows)
    for frame, columns in ((labels_frame, ("labeled_at", "last_modified_at", "created_at")), (versions_frame, ("modified_at",))):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return labels_frame, versions_frame


def _audit(labels: list[_DemoLabel], defaults_by_sheet: dict[str, UsageConstraints]) -> pd.DataFrame:
    """Where an expert departed from what the source's tags allow, the audit says who, when and why."""
    changes = []
    for label in labels:
        first = label.versions[0]
        before = defaults_by_sheet[label.key.sheet_id]
        if governance_differs(before, first.content.constraints):
            audit_id = str(uuid.uuid5(_AUDIT_NAMESPACE, f"{label.key.label_id}/audit"))
            changes.append(ConstraintChange(label.key.label_id, before, first.content.constraints, first.by, first.at, audit_id))
    return audit_frame(changes)


def seed(context: DemoContext) -> StepCounts:
    wb = context.workbench
    sheet_ids = existing_demo_sheet_ids(context)
    clock = _Clock(context.random("canonical_labels", "clock"))
    labels = (
        _invoice_labels(context, sheet_ids[INVOICES_SHEET], clock)
        + _crystal_labels(context, sheet_ids[CRYSTALS_SHEET], clock)
        + _telemetry_labels(context, sheet_ids[TELEMETRY_SHEET], clock)
    )
    labels_frame, versions_frame = _frames(labels)
    defaults = {
        sheet_ids[INVOICES_SHEET]: constraints_from_tags(invoices.TAGS),
        sheet_ids[CRYSTALS_SHEET]: constraints_from_tags(crystals.TAGS),
        sheet_ids[TELEMETRY_SHEET]: constraints_from_tags(telemetry.TAGS),
    }
    audit = _audit(labels, defaults)
    engine = wb.backend.engine
    with engine.transaction():
        engine.insert_rows(wb.table("canonical_labels"), labels_frame)
        engine.insert_rows(wb.table("canonical_label_versions"), versions_frame)
        UsageAuditStore(engine, wb.table("usage_constraint_audit")).insert_frame(audit)
    return {
        "canonical_labels": len(labels_frame),
        "canonical_label_versions": len(versions_frame),
        "governance_audit_entries": len(audit),
    }


def clear(context: DemoContext) -> None:
    wb = context.workbench
    engine = wb.backend.engine
    sheet_ids = sorted(existing_demo_sheet_ids(context).values())
    if not sheet_ids:
        return
    label_ids = [r["id"] for r in engine.query(
        f"SELECT id FROM {wb.table('canonical_labels')} WHERE array_contains(:ids, sheet_id)", {"ids": sheet_ids})]
    UsageAuditStore(engine, wb.table("usage_constraint_audit")).delete_for_labels(label_ids)
    for table in ("canonical_label_versions", "canonical_labels"):
        engine.execute(f"DELETE FROM {wb.table(table)} WHERE array_contains(:ids, sheet_id)", {"ids": sheet_ids})
