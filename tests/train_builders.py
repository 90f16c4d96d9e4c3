"""A small, fully labeled Training Sheet and a chat-JSONL export of it, for the TRAIN tests.

The sheet is the invoice source (no governance tags, so every use is allowed); every item has
a canonical urgency label (urgent from 60.00 up), so generation makes every pair labeled. The
export is written the way the TRAIN export writes one: `{"messages": [...]}` per line, the
assistant's answer last, on the app's volume.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.qa_pair import LabelingMode, TrainingSheet
from services.core.domain.sheet import SheetDraft
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.labels.canonical_labels import CanonicalLabelService
from services.train.records import EvaluationSource, TrainingConfig, TrainingInput
from tests.builders import build_invoice_source
from tests.review_builders import generate, publish_template

EXPORTS = "/Volumes/mirion_vital/workbench/files/exports"
# A few steps on a few short pairs: a real LoRA run that fits a test on a busy 2-core machine.
TINY_CONFIG = TrainingConfig(max_steps=2, batch_size=2, max_length=64, max_new_tokens=12, lora_rank=4, lora_alpha=8)


@dataclass(frozen=True)
class LabeledSheet:
    training_sheet: TrainingSheet
    pair_ids: tuple[str, ...]  # in item order


def urgency(total_amount: float) -> str:
    return "urgent" if total_amount >= 60 else "routine"


def labeled_training_sheet(wb: Workbench, items: int = 10) -> LabeledSheet:
    build_invoice_source(wb)
    sheet = SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", sample_size=items))
    labels = CanonicalLabelService(wb)
    for i in range(items):
        labels.save(LabelKey(sheet.id, f"INV-{i:04d}", "classification"), LabelContent({"urgency": urgency(i * 10)}), 0)
    template = publish_template(wb)
    training_sheet = generate(wb, sheet.id, template.id, LabelingMode.MANUAL)
    rows = wb.backend.engine.query(
        f"SELECT id FROM {wb.table('qa_pairs')} WHERE training_sheet_id = :id ORDER BY ordinal", {"id": training_sheet.id}
    )
    return LabeledSheet(training_sheet, tuple(r["id"] for r in rows))


def write_export(wb: Workbench, name: str, pair_ids: tuple[str, ...]) -> str:
    rows = wb.backend.engine.query(
        f"SELECT id, messages FROM {wb.table('qa_pairs')} WHERE array_contains(:ids, id)", {"ids": list(pair_ids)}
    )
    by_id = {r["id"]: r["messages"] for r in rows}
    lines = [json.dumps({"messages": json.loads(by_id[i])}) for i in pair_ids]
    path = f"{EXPORTS}/{name}"
    wb.backend.files.write_bytes(path, ("\n".join(lines) + "\n").encode())
    return path


def training_input(wb: Workbench, labeled: LabeledSheet, train: int = 4, validation: int = 2, evaluation: int = 2) -> TrainingInput:
    """The first `train` pairs to train on, the next `validation` to validate; the rest may be evaluated on."""
    train_ids = labeled.pair_ids[:train]
    val_ids = labeled.pair_ids[train : train + validation]
    ts = labeled.training_sheet.id
    return TrainingInput(
        export_id="export-test-1", training_sheet_ids=(ts,), train_jsonl=write_export(wb, "test-1/train.jsonl", train_ids),
        validation_jsonl=write_export(wb, "test-1/validation.jsonl", val_ids) if val_ids else None,
        train_pair_ids=train_ids, validation_pair_ids=val_ids, evaluation=EvaluationSource((ts,), max_pairs=evaluation),
        export_version=1,
    )
