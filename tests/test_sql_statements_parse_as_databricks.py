"""Every SQL statement the app issues is one valid Databricks statement that also runs on DuckDB.

A recording engine wraps the embedded engine and keeps each statement a flow sends; bulk
inserts are recorded (and run) as the multi-row INSERTs the warehouse engine would send.

To cover another flow: write `def your_flow(workbench: Workbench) -> None` that drives services
the way a user would (only statements meant to succeed), and add it to FLOWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
import sqlglot

from data_access.backends import Backend, open_local_backend
from data_access.identity import User
from data_access.llm.openai_compatible import OpenAICompatibleChat
from data_access.schema.migrate import migrate
from data_access.settings import Settings
from data_access.sql.ai_query_emulator import install_ai_query
from data_access.sql.databricks_engine import insert_statements
from data_access.sql.duckdb_engine import release_home
from data_access.sql.engine import Params, Row, SqlEngine
from data_access.sql.transpile import to_duckdb
from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.qa_pair import LabelingMode, TrainingSheet
from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.core.domain.template import FieldType, SchemaField, TemplateDraft, TemplateStatus
from services.core.errors import StaleWriteError
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft, ExampleFilters
from services.generate.generation import GenerationRequest, GenerationService
from services.generate.reuse_report import ReuseReport
from services.generate.training_sheets_store import TrainingSheetsStore
from services.labels.canonical_labels import CanonicalLabelService
from services.templates.prompt_templates import TemplateService
from services.train.export_records import Split, SplitConfig, Stratify
from services.train.exports import ExportService
from tests.alert_builders import alerts_sql_flow
from tests.builders import REGIONS, STATE_NAMES, build_invoice_source, build_region_source, joined_invoice_draft
from tests.deploy_builders import deploy_sql_flow
from tests.example_store_builders import pair_ids, set_pair, sheet_with_pairs
from tests.fakes.chat_server import ChatScript, FakeChatServer
from tests.improve_builders import improve_gaps_sql_flow, improve_sql_flow
from tests.labeling_sql_flow import canonical_labeling_flow
from tests.monitor_builders import monitor_sql_flow
from tests.retrain_builders import retrain_sql_flow
from tests.signal_builders import label_signals_sql_flow
from tests.train_builders import IMAGES, PairSpec, build_training_sheet, crystal_template
from tests.train_model_builders import training_sql_flow


class RecordingEngine(SqlEngine):
    """Passes every call to `inner` and keeps the Databricks SQL of each statement that ran."""

    def __init__(self, inner: SqlEngine) -> None:
        self.inner = inner
        self.statements: list[str] = []

    def _ran(self, sql: str, result: Any) -> Any:
        self.statements.append(sql)
        return result

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._ran(sql, self.inner.query(sql, params))

    def query_df(self, sql: str, params: Params | None = None) -> pd.DataFrame:
        return self._ran(sql, self.inner.query_df(sql, params))

    def stream(self, sql: str, params: Params | None = None, batch_rows: int = 10_000) -> Iterator[list[Row]]:
        self.statements.append(sql)
        yield from self.inner.stream(sql, params, batch_rows)

    def execute(self, sql: str, params: Params | None = None) -> int:
        return self._ran(sql, self.inner.execute(sql, params))

    def insert_rows(self, table: str, rows: pd.DataFrame | pa.Table) -> int:
        if len(rows) == 0:
            return 0
        return sum(self.execute(statement, params) for statement, params in insert_statements(table, rows))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.inner.transaction():
            yield

    def __getattr__(self, name: str) -> Any:
        # The embedded engine's extras (ensure_catalog, raw, …) for flows that need them.
        return getattr(self.inner, name)


Flow = Callable[[Workbench], None]


def migration_flow(workbench: Workbench) -> None:
    migrate(workbench.backend.engine, workbench.settings)


def sheets_flow(workbench: Workbench) -> None:
    migrate(workbench.backend.engine, workbench.settings)
    build_invoice_source(workbench)
    service = SheetService(workbench)
    draft = joined_invoice_draft(filter_condition="total_amount >= 100 AND invoice_id LIKE 'INV-0%'", sample_size=40)
    sheet = service.create(draft)
    service.items(sheet, offset=0, limit=10)
    edited = service.update(sheet.id, SheetDraft(name="Lakeside", primary_table=draft.primary_table, item_ref_column="invoice_id"), sheet.row_version)
    with pytest.raises(StaleWriteError):
        service.update(sheet.id, draft, sheet.row_version)
    service.items(edited, offset=5, limit=5)
    copy = service.duplicate(sheet.id)
    service.delete(copy.id)
    service.list()
    service.count()


def document_parsing_flow(workbench: Workbench) -> None:
    from services.data.documents_store import DocumentsStore
    from services.data.volume_parsing import VolumeParsing
    from tests.builders import INVOICE_PDFS

    migrate(workbench.backend.engine, workbench.settings)
    build_invoice_source(workbench)
    job = JobRunner(workbench).wait(VolumeParsing(workbench).start(INVOICE_PDFS), 60)
    assert job.status == "succeeded", job.error
    store = DocumentsStore(workbench)
    store.summary(INVOICE_PDFS)
    store.pages(f"{INVOICE_PDFS}/INV-0000.pdf")
    SheetService(workbench).items(SheetService(workbench).create(joined_invoice_draft()), limit=5)


def bulk_insert_flow(workbench: Workbench) -> None:
    migrate(workbench.backend.engine, workbench.settings)
    now = datetime(2024, 5, 1, tzinfo=UTC)
    audit = pd.DataFrame(
        {
            "id": [f"a{i}" for i in range(40)],
            "qa_pair_id": [f"p{i}" for i in range(40)],
            "old_allowed_uses": [["training"]] * 40,
            "new_allowed_uses": [["training", "validation"] if i % 2 else [] for i in range(40)],
            "reason": [None] * 40,
            "modified_by": ["tester@example.com"] * 40,
            "modified_at": [now] * 40,
        }
    )
    workbench.backend.engine.insert_rows(workbench.table("usage_constraint_audit"), audit)


def canonical_labels_flow(workbench: Workbench) -> None:
    migrate(workbench.backend.engine, workbench.settings)
    labels = CanonicalLabelService(workbench)
    key = LabelKey("sheet-1", "invoice_042.pdf", "classification")
    labels.save(key, LabelContent({"urgency": "routine"}), 0)
    labels.save(key, LabelContent({"urgency": "urgent"}), 1)
    with pytest.raises(StaleWriteError):
        labels.save(key, LabelContent({"urgency": "x"}), 1)
    labels.rollback(key.label_id, 1, 2)
    labels.history(key.label_id)
    labels.for_item("sheet-1", "invoice_042.pdf")
    labels.reusable("sheet-1", "classification")
    labels.label_types("sheet-1")
    labels.count("sheet-1", "classification")


def generation_flow(workbench: Workbench) -> None:
    """Templates, generation as a job (its job_runs statements too) and the Training Sheet reads."""
    migrate(workbench.backend.engine, workbench.settings)
    build_invoice_source(workbench)
    sheet = SheetService(workbench).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", sample_size=20))
    templates = TemplateService(workbench)
    draft = templates.create(TemplateDraft(
        "Urgency", "classification", user_prompt_template="Invoice {{ invoice_id }}",
        output_schema=(SchemaField("urgency", FieldType.STRING),),
    ))
    published = templates.publish(draft)
    templates.new_version_from(published)
    templates.list(search="urg%", status=TemplateStatus.PUBLISHED, label_type="classification")
    CanonicalLabelService(workbench).save(LabelKey(sheet.id, "INV-0002", "classification"), LabelContent({"urgency": "urgent"}), 0)
    service = GenerationService(workbench)
    training_sheet = service.start(GenerationRequest(sheet.id, published.id, LabelingMode.MANUAL))
    assert JobRunner(workbench).wait(training_sheet.job_id, 60).status == "succeeded"
    drafted = service.start(GenerationRequest(sheet.id, published.id, LabelingMode.AI_GENERATED))  # keeps the drafter's record
    assert JobRunner(workbench).wait(drafted.job_id, 60).status == "succeeded"
    service.list()
    ReuseReport(workbench).pre_approved(training_sheet.id)
    ReuseReport(workbench).summary(training_sheet.id)
    service.first_pairs(training_sheet.id)
    JobRunner(workbench).recent()


def generate_in_the_warehouse(workbench: Workbench, sheet_id: str, template_id: str) -> None:
    """The one-statement generation, its ai_query answered by a fake model server."""
    with FakeChatServer(ChatScript()) as server:
        install_ai_query(workbench.backend.engine.inner, lambda endpoint: OpenAICompatibleChat(server.base_url, default_model=endpoint))
        settings = replace(workbench.settings, llm_base_url=server.base_url)
        wb = replace(workbench, backend=replace(workbench.backend, settings=settings))
        training_sheet = GenerationService(wb).start(GenerationRequest(sheet_id, template_id, LabelingMode.AI_GENERATED, in_warehouse=True))
        assert JobRunner(wb).wait(training_sheet.job_id, 60).status == "succeeded"


def warehouse_generation_flow(workbench: Workbench) -> None:
    """The one-statement ai_query generation, with ai_query emulated against a fake model server."""
    migrate(workbench.backend.engine, workbench.settings)
    build_invoice_source(workbench)
    sheet = SheetService(workbench).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", sample_size=10))
    templates = TemplateService(workbench)
    template = templates.publish(templates.create(TemplateDraft(
        "Urgency", "classification", system_prompt="Classify.", user_prompt_template="Invoice {{ invoice_id }} for {{ total_amount }}",
        output_schema=(SchemaField("urgency", FieldType.STRING),), base_model="serving-endpoint-1",
    )))
    generate_in_the_warehouse(workbench, sheet.id, template.id)


def quoted_columns_flow(workbench: Workbench) -> None:
    """A sheet over columns that are not plain identifiers (`region id`, `state code`, `tag``s`):
    filtered, joined, paged, labeled and generated in the warehouse, every name quoted."""
    migrate(workbench.backend.engine, workbench.settings)
    build_region_source(workbench)
    joined = SecondarySource(SourceKind.TABLE, STATE_NAMES, "state code")
    service = SheetService(workbench)
    sheet = service.create(SheetDraft("Regions", REGIONS, "region id", filter_condition="`state code` <> 'TX' AND `tag``s` LIKE 'tag-%'",
                                      secondary_sources=(joined,), sample_size=10))
    service.items(sheet, offset=0, limit=5)
    list(service.iter_items(sheet, batch_size=4))
    service.unlabeled_items(sheet, "classification")
    service.neighbours(sheet, "R-003", without_label_type="classification")
    templates = TemplateService(workbench)
    template = templates.publish(templates.create(TemplateDraft(
        "Regions", "classification", system_prompt="Classify.", user_prompt_template='Region {{ row["region id"] }} in {{ row["state_names__state name"] }}',
        output_schema=(SchemaField("urgency", FieldType.STRING),), base_model="serving-endpoint-1",
    )))
    generate_in_the_warehouse(workbench, sheet.id, template.id)


def train_export_flow(workbench: Workbench) -> None:
    """The TRAIN export: gate summary, split plan, preview, the export job and its version reads."""
    migrate(workbench.backend.engine, workbench.settings)
    specs = [PairSpec(answer=json.dumps({"defect_type": ("crack", "none")[i % 3 == 0]}), media=(f"{IMAGES}/c{i}.png",)) for i in range(12)]
    sheet = build_training_sheet(workbench, [*specs, PairSpec(status="unlabeled"), PairSpec(prohibited=("training",), reason="PHI")])
    service = ExportService(workbench)
    for config in (SplitConfig(0.25, 3, Stratify.FIELD, "defect_type", oversample=True), SplitConfig(0.25, 3, Stratify.RESPONSE), SplitConfig(stratify=Stratify.NONE)):
        service.summary([sheet.id])
        service.plan([sheet.id], config)
        service.preview([sheet.id], config)
        job = JobRunner(workbench).wait(service.start([sheet.id], config), 60)
        assert job.status == "succeeded", job.error
    version = service.versions([sheet.id])[0]
    service.pair_ids(version.id, Split.TRAIN)


def example_store_flow(workbench: Workbench) -> None:
    """Sync through the few-shot gate, re-sync after a rejection, author, edit, browse, search, prune."""
    migrate(workbench.backend.engine, workbench.settings)
    sheet = sheet_with_pairs(workbench, [PairSpec(), PairSpec(), PairSpec(status="review")])
    store = ExampleStore(workbench)
    store.sync(sheet.id)
    set_pair(workbench, pair_ids(workbench, sheet.id)[0], status="rejected")
    store.sync(sheet.id)
    example = store.add(ExampleDraft("A cracked crystal", "crack", search_keys=("crack",), function_name="defect", domain="crystals", quality_score=0.8))
    store.update(example.example_id, ExampleDraft("A crystal with a crack", "crack", function_name="defect"))
    filters = ExampleFilters(function_names=("defect",), domain="crystals", min_quality=0.5, min_effectiveness=0.1)
    store.browse(filters)
    store.facets()
    store.count()
    store.search("crystal defect", k=3, min_score=-1.0)
    store.search("crystal defect", k=3, filters=filters)
    store.prune([example.example_id])
def dspy_flow(workbench: Workbench) -> None:
    """A DSPy run's statements: the dataset export, the run's row from start to a decision, and
    what flows back (pair quality scores, example effectiveness, the template's link to the run)."""
    from services.dspy.dataset import DatasetExporter
    from services.dspy.optimizer_service import DspyOptimizerService
    from services.dspy.records import Decision, DspyRun, RunResult, RunStatus
    from services.dspy.runs_store import DspyRunsStore
    from tests.dspy_builders import provider_training_sheet

    migrate(workbench.backend.engine, workbench.settings)
    training = provider_training_sheet(workbench, pairs=4)
    dataset = DatasetExporter(workbench).export(training.id)
    DspyOptimizerService(workbench).training_sheets()
    store = DspyRunsStore(workbench)
    run = DspyRun("run-1", training.id, dataset.template.id, "BootstrapFewShot", "exact_match", RunStatus.RUNNING, "scripted", {}, job_id="job-1")
    store.start(run)
    store.set_mlflow_run(run.run_id, "mlflow-1")
    store.finish(run.run_id, 0.0, 1.0, RunResult("Say the kind.", (), (), 3))
    store.end("run-0", RunStatus.CANCELLED, None)
    store.decide(run.run_id, Decision.ACCEPTED, "tester@example.com", dataset.template.id)
    store.get(run.run_id)
    store.by_job("job-1")
    store.recent(5)
    pair_ids = [r.pair_id for r in (*dataset.demos, *dataset.evalset)]
    store.score_pairs({pair_id: 1.0 for pair_id in pair_ids})
    store.rate_examples({pair_ids[0]: 0.5})
    store.link_template(dataset.template.id, run.run_id)
    store.template_run(dataset.template.id)


def demo_model_flow(workbench: Workbench) -> None:
    """The demo model's lookups (Home runs them): its Training Sheet by sheet name and template,
    and its run by registered name."""
    from services.demo.names import CRYSTALS_SHEET
    from services.demo.trained_model import DEMO_TEMPLATE, demo_model

    migrate(workbench.backend.engine, workbench.settings)
    build_invoice_source(workbench)
    sheet = SheetService(workbench).create(SheetDraft(CRYSTALS_SHEET, "mirion_vital.raw.invoices", "invoice_id"))
    template = crystal_template(workbench)
    store = TrainingSheetsStore(workbench.backend.engine, workbench.table("training_sheets"), workbench.table("qa_pairs"))
    store.insert(TrainingSheet(str(uuid.uuid4()), "Demo defects", sheet.id, template.id, template.version, template.label_type,
                               "ai_generated", "review", generation_config={"template_name": DEMO_TEMPLATE}))
    demo = Workbench(replace(workbench.backend, settings=replace(workbench.settings, load_demo_data=True, demo_training=True)))
    model = demo_model(demo)
    assert model is not None and model.run is None


FLOWS: dict[str, Flow] = {
    "migration": migration_flow,
    "sheets": sheets_flow,
    "document_parsing": document_parsing_flow,
    "bulk_insert": bulk_insert_flow,
    "canonical_labels": canonical_labels_flow,
    "generation": generation_flow,
    "warehouse_generation": warehouse_generation_flow,
    "canonical_labeling": canonical_labeling_flow,
    "train_export": train_export_flow,
    "quoted_columns": quoted_columns_flow,
    "training": training_sql_flow,
    "deploy_monitor": deploy_sql_flow,
    "monitor_alerts": alerts_sql_flow,
    "monitor_dashboards": monitor_sql_flow,
    "example_store": example_store_flow,
    "dspy": dspy_flow,
    "demo_model": demo_model_flow,
    "improve": improve_sql_flow,
    "improve_gaps_and_trace": improve_gaps_sql_flow,
    "improve_retrain": retrain_sql_flow,
    "label_signals": label_signals_sql_flow,
}


@pytest.fixture
def recording_workbench(settings: Settings) -> Iterator[tuple[Workbench, RecordingEngine]]:
    """A fresh, unmigrated embedded store whose engine records what it is sent."""
    local = open_local_backend(settings, User("tester@example.com", "tester"))
    recorder = RecordingEngine(local.engine)
    yield Workbench(Backend(settings, recorder, local.files, local.catalog, local.user)), recorder
    release_home(settings.home)


@pytest.mark.parametrize("flow", FLOWS.values(), ids=FLOWS.keys())
def test_every_statement_a_flow_issues_is_one_databricks_statement_that_runs_on_duckdb(flow, recording_workbench):
    workbench, recorder = recording_workbench
    flow(workbench)
    assert recorder.statements, "the flow issued no SQL"
    for sql in dict.fromkeys(recorder.statements):
        parsed = [statement for statement in sqlglot.parse(sql, read="databricks") if statement is not None]
        assert len(parsed) == 1, sql
        assert to_duckdb(sql).sql  # recorded statements already ran on DuckDB through this transpile


def test_the_recorder_sees_bulk_inserts_as_multi_row_values_statements(recording_workbench):
    workbench, recorder = recording_workbench
    bulk_insert_flow(workbench)
    inserts = [s for s in recorder.statements if s.startswith("INSERT INTO mirion_vital.workbench.usage_constraint_audit")]
    assert inserts and all("VALUES (:p0_0" in s for s in inserts)
    assert workbench.backend.engine.scalar("SELECT count(*) AS n FROM mirion_vital.workbench.usage_constraint_audit") == 40
