"""A Training Sheet for DSPy runs: invoices whose provider name decides one output field, over a
real sheet of the invoice source table, with pairs inserted the way generation inserts them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pandas as pd

from services.core.domain.governance import ALL_USES
from services.core.domain.qa_pair import TrainingSheet
from services.core.domain.sheet import SheetDraft
from services.core.domain.template import FieldType, SchemaField, Template, TemplateDraft
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.generate.qa_pairs_store import INSERT_COLUMNS, QaPairsStore
from services.generate.training_sheets_store import TrainingSheetsStore
from services.templates.prompt_templates import TemplateService
from tests.builders import build_invoice_source

SOURCE_TABLE = "mirion_vital.raw.invoices"
TASK_FIELDS = ("kind",)


def provider_kind(inputs: dict[str, str]) -> dict[str, str]:
    """The right answer: what the scripted model says once it has seen demonstrations."""
    return {"kind": "hospital" if "Medical" in inputs.get("provider_name", "") else "clinic"}



def provider_template(wb: Workbench, retrieved_examples_k: int = 0) -> Template:
    service = TemplateService(wb)
    return service.publish(service.create(TemplateDraft(
        name="Provider kind", label_type="classification", system_prompt="Say what kind of provider billed the invoice.",
        user_prompt_template="Invoice {{ invoice_id }} from {{ provider_name }}.",
        input_schema=(SchemaField("invoice_id"), SchemaField("provider_name", description="who billed")),
        output_schema=(SchemaField("kind", FieldType.STRING, choices=("hospital", "clinic")),),
        retrieved_examples_k=retrieved_examples_k,
    )))


def provider_training_sheet(wb: Workbench, pairs: int = 12, uses: dict[int, tuple[str, ...]] | None = None,
                            retrieved_examples_k: int = 0) -> TrainingSheet:
    """`pairs` approved pairs over INV-0000…; `uses` overrides the allowed uses of pair i; the
    template retrieves `retrieved_examples_k` Example Store examples per item."""
    build_invoice_source(wb)
    sheet = SheetService(wb).create(SheetDraft("Invoices for DSPy", SOURCE_TABLE, "invoice_id", sample_size=200))
    template = provider_template(wb, retrieved_examples_k)
    engine = wb.backend.engine
    training = TrainingSheet(str(uuid.uuid4()), "Provider kinds", sheet.id, template.id, template.version, template.label_type, "manual", "review")
    TrainingSheetsStore(engine, wb.table("training_sheets"), wb.table("qa_pairs")).insert(training)
    now = datetime.now(UTC)
    records = []
    for i in range(pairs):
        ref = f"INV-{i:04d}"
        provider = "City Medical Center" if i % 2 == 0 else "Lakeside Clinic"
        answer = json.dumps(provider_kind({"provider_name": provider}))
        messages = json.dumps([{"role": "user", "content": f"Invoice {ref} from {provider}."}, {"role": "assistant", "content": answer}])
        allowed = (uses or {}).get(i, ALL_USES)
        records.append((str(uuid.uuid5(uuid.NAMESPACE_URL, f"{training.id}/{ref}")), training.id, sheet.id, ref, i, template.label_type,
                        messages, answer, [], None, "labeled", "manual", list(allowed), [], "", "internal",
                        None, None, None, None, None, now, now, 1))
    QaPairsStore(engine, wb.table("qa_pairs")).insert_frame(pd.DataFrame.from_records(records, columns=list(INSERT_COLUMNS)))
    return training
