"""The Canonical Labeling Tool's statements, for tests/test_sql_statements_parse_as_databricks.py.

Drives the services as the tool does (browse, label, navigate, roll back, import, export) on a
fresh store; add `"canonical_labeling": canonical_labeling_flow` to that module's FLOWS.
"""

from __future__ import annotations

from data_access.schema.migrate import migrate
from services.core.domain.governance import UsageConstraints
from services.core.workbench import Workbench
from services.labels.import_export import LabelImportExport
from services.labels.labeling_session import BrowseFilter, LabelingSession, StatusFilter, Step
from tests.labeling_builders import URGENCY_FIELDS, invoice_sheet, published_template


def canonical_labeling_flow(workbench: Workbench) -> None:
    migrate(workbench.backend.engine, workbench.settings)
    sheet = invoice_sheet(workbench, sample_size=10)
    published_template(workbench, "classification", URGENCY_FIELDS, sheet_id=sheet.id)
    session = LabelingSession(workbench, sheet, "classification")
    session.schema()
    session.progress()
    first = session.save("INV-0001", {"urgency": "urgent"}, 0, constraints=UsageConstraints(usage_reason="No PHI in urgency"))
    session.save("INV-0001", {"urgency": "routine"}, first.version, constraints=first.constraints)
    session.rollback(first.id, 1, 2)
    session.history(first.id)
    session.audit(first.id)
    session.labelsets("INV-0001")
    for status in StatusFilter:
        session.page(BrowseFilter(status), 0, 4)
    session.page(BrowseFilter(StatusFilter.UNLABELED, "classification"), 0, 4)
    session.step(Step.NEXT, "INV-0001", BrowseFilter())
    session.step(Step.SKIP, "INV-0001", BrowseFilter())
    transfer = LabelImportExport(workbench, sheet)
    transfer.import_file(b"item_ref,label_type,urgency\nINV-0002,classification,priority\n", "labels.csv")
    transfer.import_file(transfer.export_jsonl(), "labels.jsonl")
