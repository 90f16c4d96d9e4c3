"""Training Sheets with chosen pairs for the TRAIN export: statuses, constraints, answers and
media set pair by pair, inserted the way generation inserts them (QaPairsStore.insert_frame)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from services.core.domain.governance import ALL_USES
from services.core.domain.qa_pair import TrainingSheet
from services.core.domain.sheet import SheetDraft
from services.core.domain.template import FieldType, SchemaField, Template, TemplateDraft
from services.core.workbench import Workbench
from services.data.sheets_store import SheetsStore
from services.generate.qa_pairs_store import INSERT_COLUMNS, QaPairsStore
from services.generate.training_sheets_store import TrainingSheetsStore
from services.templates.prompt_templates import TemplateService

DEFECTS = ("crack", "inclusion", "none")
IMAGES = "/Volumes/mirion_vital/raw/crystal_images"
CRYSTALS = "mirion_vital.raw.crystals"  # the source table of the Training Sheets built here (its tags govern them)


@dataclass(frozen=True)
class PairSpec:
    status: str = "labeled"
    allowed: tuple[str, ...] = ALL_USES
    prohibited: tuple[str, ...] = ()
    reason: str = ""
    classification: str = "internal"
    answer: str = '{"defect_type": "crack"}'
    media: tuple[str, ...] = ()
    messages: str | None = None  # stored messages as they are, instead of system + user + answer


def crystal_template(wb: Workbench, name: str = "Defects") -> Template:
    service = TemplateService(wb)
    return service.publish(service.create(TemplateDraft(
        name=name, label_type="classification", system_prompt="You inspect crystals.", user_prompt_template="Crystal {{ id }}",
        output_schema=(SchemaField("defect_type", FieldType.STRING, choices=DEFECTS), SchemaField("note", FieldType.STRING)),
    )))


def messages_for(ref: str, answer: str) -> str:
    return json.dumps([
        {"role": "system", "content": "You inspect crystals."},
        {"role": "user", "content": f"Crystal {ref}: is there a defect?\nLook closely."},
        {"role": "assistant", "content": answer},
    ], ensure_ascii=False)


def build_training_sheet(wb: Workbench, specs: list[PairSpec], name: str = "Crystals", template: Template | None = None,
                         status: str = "review", source: str = CRYSTALS) -> TrainingSheet:
    """A Training Sheet of `specs`, from a sheet over the table `source` (made when missing)."""
    template = template or crystal_template(wb, f"{name} template")
    engine = wb.backend.engine
    sheet = TrainingSheet(str(uuid.uuid4()), name, source_sheet(wb, name, source), template.id, template.version, template.label_type, "manual", status)
    TrainingSheetsStore(engine, wb.table("training_sheets"), wb.table("qa_pairs")).insert(sheet)
    now = datetime.now(UTC)
    records = []
    for i, spec in enumerate(specs):
        ref = f"{name}-{i:05d}"
        records.append((
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sheet.id}/{ref}")), sheet.id, sheet.sheet_id, ref, i, template.label_type,
            spec.messages if spec.messages is not None else messages_for(ref, spec.answer), spec.answer, list(spec.media), None,
            spec.status, "manual", list(spec.allowed), list(spec.prohibited), spec.reason, spec.classification,
            None, None, None, None, None, now, now, 1,
        ))
    if records:
        QaPairsStore(engine, wb.table("qa_pairs")).insert_frame(pd.DataFrame.from_records(records, columns=list(INSERT_COLUMNS)))
    return sheet


def source_sheet(wb: Workbench, name: str, source: str = CRYSTALS) -> str:
    """The id of the sheet "sheet-<name>" over the table `source`, made (with the table) when missing."""
    engine = wb.backend.engine
    catalog, schema, _ = source.split(".")
    engine.execute(f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema}")
    engine.execute(f"CREATE TABLE IF NOT EXISTS {source} AS SELECT concat('CRY-', CAST(i AS STRING)) AS crystal_id FROM range(10) AS t(i)")
    sheets = SheetsStore(engine, wb.table("sheets"))
    sheet_id = "sheet-" + name
    if sheets.get(sheet_id) is None:
        sheets.insert(sheet_id, SheetDraft(f"Source of {name}", source, "crystal_id"), 10, "tester@example.com")
    return sheet_id
