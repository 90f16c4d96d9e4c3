"""Column names that are not plain identifiers (`state code`, `größe`, even a backtick), legal in
Unity Catalog when quoted, work end to end on the real store: a sheet over them is created,
previewed, filtered (backticks in the filter), joined, used in a template (`row["state code"]`,
or the bare name when it is a Jinja name such as `größe`), generated in the app and in the
warehouse (the SQL quotes them), and labeled."""

from dataclasses import replace

import pytest

from data_access.backends import open_local_backend
from services.core.domain.qa_pair import LabelingMode
from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.core.domain.template import FieldType, SchemaField, TemplateDraft
from services.core.errors import ValidationError
from services.core.jobs import JobRunner
from services.data.catalog_exploration import table_details
from services.data.sheets import SheetService
from services.generate.generation import GenerationRequest, GenerationService
from services.labels.labeling_session import LabelingSession
from services.review.actions import ReviewService
from services.review.sources import source_of
from services.templates.prompt_templates import TemplateService
from tests.builders import REGIONS, STATE_NAMES, build_region_source
from tests.fakes.chat_server import ChatScript, FakeChatServer

WAIT_S = 120
FILTER = "`state code` <> 'TX' AND größe >= 3 AND `tag``s` LIKE 'tag-%'"
# i in 3..19 with i % 3 != 2: the NY and CA regions from R-003 on
EXPECTED = ["R-003", "R-004", "R-006", "R-007", "R-009", "R-010", "R-012", "R-013", "R-015", "R-016", "R-018", "R-019"]
PROMPT = 'Region {{ row["region id"] }} in {{ row["state_names__state name"] }} ({{ row["state code"] }}), size {{ größe }}, {{ row["tag`s"] }}.'
URGENCY = (SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")),)


@pytest.fixture
def sheet(workbench):
    build_region_source(workbench)
    joined = SecondarySource(SourceKind.TABLE, STATE_NAMES, "state code")
    return SheetService(workbench).create(SheetDraft("Regions", REGIONS, "region id", filter_condition=FILTER, secondary_sources=(joined,)))


@pytest.fixture
def template(workbench, sheet):
    service = TemplateService(workbench)
    inputs = tuple(SchemaField(name, FieldType.STRING) for name in ("region id", "state_names__state name", "state code", "größe", "tag`s"))
    draft = TemplateDraft("Region triage", "classification", system_prompt="You triage regions.", user_prompt_template=PROMPT,
                          input_schema=inputs, output_schema=URGENCY, source_sheet_id=sheet.id, base_model="regions-endpoint")
    return service.publish(service.create(draft))


def test_a_sheet_over_such_columns_is_created_filtered_joined_and_previewed(workbench, sheet):
    service = SheetService(workbench)
    page = service.items(sheet, 0, 50)
    assert (sheet.row_count, page.total) == (12, 12)
    assert [i.item_ref for i in page.items] == EXPECTED
    first = page.items[0].fields
    assert (first["state code"], str(first["größe"]), first["tag`s"], first["state_names__state name"]) == ("NY", "4.5", "tag-3", "New York")
    assert [i.item_ref for batch in service.iter_items(sheet, batch_size=5) for i in batch] == EXPECTED
    assert [i.item_ref for i in service.items_for_refs(sheet, ["R-004", "R-005"])] == ["R-004"]


def test_the_catalog_explorer_previews_such_a_table(workbench, sheet):
    details = table_details(workbench, REGIONS)
    assert details.row_count == 20
    assert list(details.preview.columns) == ["region id", "state code", "größe", "tag`s"]


def test_a_filter_that_names_such_a_column_without_backticks_says_to_quote_it(workbench, sheet):
    with pytest.raises(ValidationError, match=r"`state code`"):
        SheetService(workbench).create(SheetDraft("Regions NY", REGIONS, "region id", filter_condition="state code = 'NY'"))


def test_a_template_reads_such_columns_through_row_and_tests_on_the_sheet(workbench, sheet, template):
    service = TemplateService(workbench)
    (result,) = service.test_on_sheet(template, sheet.id, n_rows=1)
    assert result.error is None
    assert result.messages[-1].content == "Region R-003 in New York (NY), size 4.5, tag-3."
    with pytest.raises(ValidationError, match=r"Unknown placeholder 'state cod'.*Did you mean 'state code' for 'state cod'"):
        service.check(replace(template.as_draft(), name="Typo", user_prompt_template='{{ row["state cod"] }}'))


def test_generating_in_the_app_renders_each_items_prompt_from_such_columns(workbench, sheet, template):
    service = GenerationService(workbench)
    training_sheet = service.start(GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    job = JobRunner(workbench).wait(training_sheet.job_id, WAIT_S)
    assert job.status == "succeeded", job.error
    pairs = service.first_pairs(training_sheet.id, 50)
    assert [p.item_ref for p in pairs] == EXPECTED
    assert pairs[1].messages[-2].content == "Region R-004 in California (CA), size 6.0, tag-4."


def test_generating_in_the_warehouse_quotes_such_columns_in_its_one_statement(workbench, sheet, template):
    with FakeChatServer(ChatScript()) as server:
        settings = replace(workbench.settings, llm_base_url=server.base_url)
        warehouse = replace(workbench, backend=open_local_backend(settings, workbench.user))  # ai_query answered by the server
        service = GenerationService(warehouse)
        training_sheet = service.start(GenerationRequest(sheet.id, template.id, LabelingMode.AI_GENERATED, in_warehouse=True))
        job = JobRunner(warehouse).wait(training_sheet.job_id, WAIT_S)
        asked = sorted(r.body["messages"][-1]["content"] for r in server.received)
    assert job.status == "succeeded", job.error
    pairs = service.first_pairs(training_sheet.id, 50)
    assert [p.item_ref for p in pairs] == EXPECTED
    assert pairs[0].messages[-2].content == "Region R-003 in New York (NY), size 4.5, tag-3."
    assert asked[0] == "You triage regions.\n\nRegion R-003 in New York (NY), size 4.5, tag-3."


def test_items_of_such_a_sheet_are_labeled_in_the_labeling_tool_and_in_review(workbench, sheet, template):
    session = LabelingSession(workbench, sheet, "classification")
    assert session.next_unlabeled() == "R-003"
    saved = session.save("R-003", {"urgency": "urgent"}, 0)
    assert (saved.key.item_ref, saved.label_data) == ("R-003", {"urgency": "urgent"})
    assert session.next_unlabeled(after="R-003") == "R-004"
    assert session.progress().labeled == 1

    generation = GenerationService(workbench)
    training_sheet = generation.start(GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    assert JobRunner(workbench).wait(training_sheet.job_id, WAIT_S).status == "succeeded"
    pair = next(p for p in generation.first_pairs(training_sheet.id, 50) if p.item_ref == "R-004")
    assert source_of(workbench, pair).fields["state code"] == "CA"
    ReviewService(workbench).approve(pair, pair.row_version, response='{"urgency": "routine"}')
    assert session.label("R-004").label_data == {"urgency": "routine"}


def test_a_joined_table_with_a_column_name_no_sql_can_quote_is_a_message_not_a_traceback(workbench, sheet):
    workbench.backend.engine.raw('CREATE TABLE mirion_vital.raw.odd AS SELECT \'NY\' AS "state code", 2 AS "line\nbreak"')
    joined = SecondarySource(SourceKind.TABLE, "mirion_vital.raw.odd", "state code")
    with pytest.raises(ValidationError, match=r"^Column name 'line\\nbreak' cannot be used"):
        SheetService(workbench).create(SheetDraft("Odd", REGIONS, "region id", secondary_sources=(joined,)))
