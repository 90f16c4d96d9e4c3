from dataclasses import replace

import pytest

from data_access.identity import User
from data_access.llm.chat import ChatModel, ChatResult, ImagePart, RetryableModelError, TextPart
from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.core.domain.template import FewShotExample, FieldType, SchemaField, TemplateDraft, TemplateStatus
from services.core.errors import StaleWriteError, ValidationError
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.templates.prompt_templates import TemplateService
from tests import hostile_files as corpus

OUTPUT = (
    SchemaField("defect_type", FieldType.STRING, choices=("crack", "inclusion")),
    SchemaField("severity", FieldType.INTEGER),
)
DRAFT = TemplateDraft(
    name="Defect classification",
    label_type="classification",
    description="Visual inspection of scintillator crystals",
    system_prompt="You are a radiation safety expert.",
    user_prompt_template="Crystal {{ crystal_id }} from batch {{ batch_id }}.\nClassify the defect.",
    output_schema=OUTPUT,
    base_model="databricks-meta-llama-3-3-70b-instruct",
)


@pytest.fixture
def service(workbench) -> TemplateService:
    return TemplateService(workbench)


@pytest.fixture
def sheet(workbench):
    engine = workbench.backend.engine
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    engine.execute(
        "CREATE TABLE mirion_vital.raw.crystals AS SELECT concat('C-', CAST(i AS STRING)) AS crystal_id, "
        "concat('B', CAST(i % 3 AS STRING)) AS batch_id, i % 4 AS severity FROM range(10) AS t(i)"
    )
    return SheetService(workbench).create(SheetDraft("Crystals", "mirion_vital.raw.crystals", "crystal_id"))


def _as(workbench: Workbench, email: str) -> TemplateService:
    return TemplateService(replace(workbench, backend=replace(workbench.backend, user=User(email, email))))


def test_a_new_template_is_a_draft_at_version_1_0_0(service):
    template = service.create(DRAFT)
    assert (template.version, template.status, template.family_id) == ("1.0.0", TemplateStatus.DRAFT, template.id)
    assert template.created_by == template.updated_by == "tester@example.com"
    assert template.as_draft() == DRAFT
    assert service.get(template.id).output_schema == OUTPUT


def test_publishing_stamps_the_time_and_the_published_version_is_immutable(service):
    published = service.publish(service.create(DRAFT))
    assert published.status is TemplateStatus.PUBLISHED
    assert published.published_at is not None
    with pytest.raises(ValidationError, match=r"^Published templates are immutable; use 'Edit as new version'\.$"):
        service.update(published, replace(DRAFT, description="changed"))
    assert service.get(published.id).description == DRAFT.description


def test_publishing_needs_an_output_schema_and_changes_nothing_without_one(service):
    draft = service.create(replace(DRAFT, output_schema=()))
    with pytest.raises(ValidationError, match="output field") as error:
        service.publish(draft)
    assert error.value.field == "output_schema"
    assert service.get(draft.id).status is TemplateStatus.DRAFT


def test_publishing_refuses_a_prompt_using_names_missing_from_its_input_schema(service):
    draft = service.create(replace(DRAFT, input_schema=(SchemaField("crystal_id"),)))
    with pytest.raises(ValidationError, match=r"'batch_id', missing from the input schema"):
        service.publish(draft)


def test_publishing_refuses_few_shot_outputs_that_do_not_fit_the_output_schema(service):
    example = FewShotExample({"crystal_id": "C-9", "batch_id": "B1"}, '{"defect_type": "scratch", "severity": 2}')
    draft = service.create(replace(DRAFT, examples=(example,)))
    with pytest.raises(ValidationError, match=r"^Few-shot example 1's output does not match .*'scratch'"):
        service.publish(draft)


def test_a_prompt_is_checked_against_the_columns_of_its_source_sheet(service, sheet):
    with pytest.raises(ValidationError, match=r"Unknown placeholder 'batch': not a column .* 'batch_id' for 'batch'") as error:
        service.create(replace(DRAFT, source_sheet_id=sheet.id, user_prompt_template="{{ crystal_id }} {{ batch }}"))
    assert error.value.field == "user_prompt_template"
    assert service.count() == 0
    created = service.create(replace(DRAFT, source_sheet_id=sheet.id))
    assert created.source_sheet_id == sheet.id
    assert service.sheet_columns(sheet.id) == ["crystal_id", "batch_id", "severity"]


def test_a_syntax_error_is_refused_with_its_line_and_nothing_is_written(service):
    with pytest.raises(ValidationError, match=r"^Line 2: .*`Batch {{ batch_id }`"):
        service.create(replace(DRAFT, user_prompt_template="Crystal {{ crystal_id }}\nBatch {{ batch_id }"))
    assert service.count() == 0


def test_a_prompt_reaching_for_python_internals_is_refused(service):
    with pytest.raises(ValidationError, match="cannot reach Python internals"):
        service.create(replace(DRAFT, user_prompt_template="{{ crystal_id.__class__.__mro__ }}"))
    assert service.count() == 0


def test_label_types_are_open_to_new_snake_case_names_only(service):
    assert service.create(replace(DRAFT, label_type="defect_taxonomy")).label_type == "defect_taxonomy"
    with pytest.raises(ValidationError) as error:
        service.create(replace(DRAFT, name="Other", label_type="Defect Taxonomy!"))
    assert error.value.field == "label_type"


def test_two_templates_cannot_share_a_name(service):
    service.create(DRAFT)
    with pytest.raises(ValidationError, match="already exists"):
        service.create(replace(DRAFT, name="defect CLASSIFICATION"))


def test_editing_a_published_template_makes_the_next_minor_version_as_a_draft(service):
    published = service.publish(service.create(DRAFT))
    draft = service.new_version_from(published)
    assert (draft.version, draft.status, draft.family_id) == ("1.1.0", TemplateStatus.DRAFT, published.family_id)
    assert draft.as_draft() == published.as_draft()
    edited = service.update(draft, replace(draft.as_draft(), user_prompt_template="Crystal {{ crystal_id }}"))
    assert edited.row_version == 2
    assert service.get(published.id).user_prompt_template == DRAFT.user_prompt_template


def test_major_and_patch_bumps_start_from_the_familys_newest_version(service):
    v1 = service.publish(service.create(DRAFT))
    v2 = service.publish(service.new_version_from(v1, bump="major"))
    assert v2.version == "2.0.0"
    assert service.new_version_from(v1, bump="patch").version == "2.0.1"


def test_only_one_open_draft_per_template(service):
    v1 = service.publish(service.create(DRAFT))
    service.new_version_from(v1)
    with pytest.raises(ValidationError, match=r"v1\.1\.0 is already an open draft"):
        service.new_version_from(v1)


def test_versions_are_listed_newest_first_by_number_not_by_text(service):
    template = service.publish(service.create(DRAFT))
    for _ in range(10):
        template = service.publish(service.new_version_from(template))
    versions = [v.version for v in service.versions(template.family_id)]
    assert versions[:3] == ["1.10.0", "1.9.0", "1.8.0"]
    assert versions[-1] == "1.0.0"
    assert [t.version for t in service.list()] == ["1.10.0"]


def test_the_diff_between_versions_shows_only_the_fields_that_changed(service):
    v1 = service.publish(service.create(DRAFT))
    draft = service.new_version_from(v1)
    new_schema = (*OUTPUT, SchemaField("confidence", FieldType.NUMBER, required=False))
    v2 = service.update(draft, replace(draft.as_draft(), user_prompt_template="Crystal {{ crystal_id }}.", output_schema=new_schema))
    diffs = {d.field: d.diff for d in service.diff(v1, v2)}
    assert list(diffs) == ["user_prompt_template", "output_schema"]
    assert "--- v1.0.0\n+++ v1.1.0" in diffs["user_prompt_template"]
    assert "-Crystal {{ crystal_id }} from batch {{ batch_id }}." in diffs["user_prompt_template"]
    assert "+confidence: number (optional)" in diffs["output_schema"]


def test_an_archived_template_cannot_be_edited_or_archived_again(service):
    archived = service.archive(service.create(DRAFT))
    assert archived.status is TemplateStatus.ARCHIVED
    with pytest.raises(ValidationError, match="Archived templates are immutable"):
        service.update(archived, DRAFT)
    with pytest.raises(ValidationError, match="already archived"):
        service.archive(archived)


def test_duplicating_starts_a_new_template_at_1_0_0_with_a_free_name(service):
    published = service.publish(service.create(DRAFT))
    copy = service.duplicate(published)
    second = service.duplicate(published)
    assert (copy.name, copy.version, copy.status) == ("Defect classification (copy)", "1.0.0", TemplateStatus.DRAFT)
    assert copy.family_id not in (published.family_id, second.family_id)
    assert second.name == "Defect classification (copy 2)"
    assert copy.user_prompt_template == published.user_prompt_template


def test_a_stale_edit_is_refused_naming_who_changed_it_and_their_change_is_kept(workbench, service):
    opened = service.create(DRAFT)
    _as(workbench, "ana@example.com").update(opened, replace(DRAFT, description="Ana's edit"))
    with pytest.raises(StaleWriteError, match=r"^ana@example\.com changed Defect classification v1\.0\.0 after you opened it"):
        service.update(opened, replace(DRAFT, description="my edit"))
    with pytest.raises(StaleWriteError):
        service.publish(opened)
    current = service.get(opened.id)
    assert (current.description, current.status) == ("Ana's edit", TemplateStatus.DRAFT)


def test_the_library_filters_by_status_label_type_and_text(service):
    first = service.publish(service.create(DRAFT))
    service.new_version_from(first)
    service.create(replace(DRAFT, name="Invoice fields", label_type="entity_extraction", description="100% of invoices"))
    assert [(t.name, t.version) for t in service.list()] == [("Defect classification", "1.1.0"), ("Invoice fields", "1.0.0")]
    assert [(t.name, t.version) for t in service.list(status=TemplateStatus.PUBLISHED)] == [("Defect classification", "1.0.0")]
    assert [t.name for t in service.list(label_type="entity_extraction")] == ["Invoice fields"]
    assert [t.name for t in service.list(search="CRYSTALS")] == ["Defect classification"]
    assert [t.name for t in service.list(search="100%")] == ["Invoice fields"]
    assert service.list(search="10_%") == []
    assert len(service.list(all_versions=True)) == 3


def test_testing_on_a_sheet_renders_the_messages_for_its_first_items(service, sheet):
    results = service.test_on_sheet(replace(DRAFT, source_sheet_id=sheet.id), sheet.id, n_rows=2)
    assert [r.item_ref for r in results] == ["C-0", "C-1"]
    assert [m.role for m in results[0].messages] == ["system", "user"]
    assert results[1].messages[1].content == "Crystal C-1 from batch B1.\nClassify the defect."
    assert all(r.raw_output is None and r.error is None for r in results)


def test_a_row_that_cannot_be_rendered_is_reported_while_the_others_render(service, sheet):
    draft = replace(DRAFT, user_prompt_template="Ratio {{ 12 // severity }}")
    results = service.test_on_sheet(draft, sheet.id, n_rows=2)
    assert results[0].error == "Line 1: ZeroDivisionError: integer division or modulo by zero — `Ratio {{ 12 // severity }}`"
    assert results[1].messages[-1].content == "Ratio 12"


NESTED_LOOPS = "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}{{ crystal_id }}"


@pytest.mark.timeout(60)
def test_saving_a_template_whose_example_goes_past_a_render_limit_is_refused_and_nothing_is_written(service):
    draft = replace(DRAFT, user_prompt_template=NESTED_LOOPS, examples=(FewShotExample({"crystal_id": "C-9"}, '{"severity": 1}'),))
    with pytest.raises(ValidationError, match=r"^Few-shot example 1: Line 1: the loops are past the limit of 100,000 iterations") as error:
        service.create(draft)
    assert error.value.field == "examples"
    assert service.count() == 0


@pytest.mark.timeout(60)
def test_testing_a_template_past_a_render_limit_names_the_limit_for_each_item(service, sheet):
    results = service.test_on_sheet(replace(DRAFT, user_prompt_template="{{ crystal_id.center(10**9) }}"), sheet.id, n_rows=2)
    assert [r.error for r in results] == [
        "Line 1: this makes text past the limit of 1,000,000 characters per value. — `{{ crystal_id.center(10**9) }}`"
    ] * 2


def test_testing_a_prompt_with_an_unknown_column_names_it(service, sheet):
    with pytest.raises(ValidationError, match="Unknown placeholder 'colour'"):
        service.test_on_sheet(replace(DRAFT, user_prompt_template="{{ colour }}"), sheet.id)


class ScriptedModel(ChatModel):
    """The outside world's model, answering by item from a script."""

    name = "scripted"

    def __init__(self, answers):
        self.answers = answers
        self.requests = []

    def complete(self, request, *, timeout_s=None):
        self.requests.append(request)
        answer = self.answers[request.request_id]
        if isinstance(answer, Exception):
            raise answer
        return ChatResult(request.request_id, answer, None, None, None, 1.0, 1, self.name)

    def describe(self):
        return "A scripted model"


def test_with_a_model_the_raw_answer_and_its_parse_are_shown(service, sheet):
    model = ScriptedModel({"C-0": '```json\n{"defect_type": "crack", "severity": 2}\n```', "C-1": "no idea",
                           "C-2": RetryableModelError("429 Too Many Requests")})
    first, second, third = service.test_on_sheet(DRAFT, sheet.id, n_rows=3, model=model)
    assert first.parsed.ok and first.parsed.value == {"defect_type": "crack", "severity": 2}
    assert first.raw_output.startswith("```json")
    assert (second.raw_output, second.parsed.errors) == ("no idea", ("No JSON object found in the output.",))
    assert (third.model_error, third.parsed) == ("429 Too Many Requests", None)
    request = model.requests[0]
    assert (request.model, request.temperature, request.max_tokens) == (DRAFT.base_model, 0.0, 1024)
    assert [m.role for m in request.messages] == ["system", "user"]


def test_an_items_images_go_to_the_model_beside_its_prompt(workbench, service, sheet):
    png = corpus.good_png()
    workbench.backend.files.write_bytes("/Volumes/mirion_vital/raw/crystal_images/C-0.png", png)
    volume = SecondarySource(SourceKind.VOLUME, "/Volumes/mirion_vital/raw/crystal_images", "crystal_id")
    with_images = SheetService(workbench).update(
        sheet.id, replace(sheet.as_draft(), secondary_sources=(volume,)), read_version=sheet.row_version
    )
    model = ScriptedModel({"C-0": '{"defect_type": "crack", "severity": 1}'})
    (result,) = service.test_on_sheet(DRAFT, with_images.id, n_rows=1, model=model)
    assert result.media == ("/Volumes/mirion_vital/raw/crystal_images/C-0.png",)
    content = model.requests[0].messages[-1].content
    assert content == (TextPart("Crystal C-0 from batch B0.\nClassify the defect."), ImagePart(png, "image/png"))


def test_a_hostile_image_fails_only_its_own_row_of_a_test_on_a_sheet(workbench, service, sheet):
    files = workbench.backend.files
    files.write_bytes("/Volumes/mirion_vital/raw/crystal_images/C-0.gif", corpus.gif_claiming_billions_of_pixels())
    files.write_bytes("/Volumes/mirion_vital/raw/crystal_images/C-1.tif", corpus.sixteen_bit_tiff())
    volume = SecondarySource(SourceKind.VOLUME, "/Volumes/mirion_vital/raw/crystal_images", "crystal_id")
    with_images = SheetService(workbench).update(sheet.id, replace(sheet.as_draft(), secondary_sources=(volume,)), read_version=sheet.row_version)
    model = ScriptedModel({"C-0": "{}", "C-1": '{"defect_type": "crack", "severity": 1}'})
    bomb, tiff = service.test_on_sheet(DRAFT, with_images.id, n_rows=2, model=model)
    assert bomb.model_error == "C-0.gif is too large to open: above the limit of 60,000,000 pixels."
    assert tiff.model_error is None and tiff.parsed.ok
    [sent] = [part for part in model.requests[0].messages[-1].content if isinstance(part, ImagePart)]
    assert sent.mime_type == "image/png"  # a TIFF goes to the model as PNG, a format it takes
