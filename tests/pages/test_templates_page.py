from dataclasses import replace

import pytest

from services.core.domain.sheet import SheetDraft
from services.core.domain.template import FieldType, SchemaField, TemplateDraft, TemplateStatus
from services.data.sheets import SheetService
from services.templates.prompt_templates import TemplateService
from tests import hostile_files as corpus

PAGE = "pages/templates.py"
DRAFT = TemplateDraft(
    name="Defect classification",
    label_type="classification",
    system_prompt="You are a radiation safety expert.",
    user_prompt_template="Crystal {{ crystal_id }} from batch {{ batch_id }}.",
    output_schema=(SchemaField("defect_type", FieldType.STRING, choices=("crack", "inclusion")),),
)


@pytest.fixture
def crystals(workbench):
    engine = workbench.backend.engine
    engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    engine.execute(
        "CREATE TABLE mirion_vital.raw.crystals AS SELECT concat('C-', CAST(i AS STRING)) AS crystal_id, "
        "concat('B', CAST(i % 3 AS STRING)) AS batch_id FROM range(5) AS t(i)"
    )
    return SheetService(workbench).create(SheetDraft("Crystals", "mirion_vital.raw.crystals", "crystal_id"))


def test_an_empty_library_says_so_and_offers_the_new_template_form(open_page, workbench):
    app = open_page(PAGE)
    assert not app.exception
    assert [t.value for t in app.title] == ["Prompt Templates"]
    assert any(i.value.startswith("No templates match") for i in app.info)
    assert app.text_input(key="new_template_name") is not None


def test_creating_a_draft_through_the_form_saves_it_and_selects_it(open_page, workbench):
    app = open_page(PAGE)
    app.text_input(key="new_template_name").input("Invoice triage")
    app.text_area(key="new_template_system").input("You are a billing expert.")
    app.text_area(key="new_template_prompt").input("Invoice {{ invoice_id }} for {{ total }}").run()
    assert any("Placeholders: `invoice_id`, `total`" in c.value for c in app.caption)
    app.button(key="new_template_submit").click().run()
    assert not app.exception
    (template,) = TemplateService(workbench).list()
    assert (template.name, template.version, template.status) == ("Invoice triage", "1.0.0", TemplateStatus.DRAFT)
    assert template.user_prompt_template == "Invoice {{ invoice_id }} for {{ total }}"
    assert app.query_params["template"] == template.id
    assert [s.value for s in app.success] == ["Created Invoice triage v1.0.0 as a draft."]
    assert [h.value for h in app.subheader] == ["Invoice triage v1.0.0"]


def test_a_prompt_with_a_syntax_error_is_flagged_as_typed_and_cannot_be_saved(open_page, workbench):
    app = open_page(PAGE)
    app.text_input(key="new_template_name").input("Broken")
    app.text_area(key="new_template_prompt").input("Invoice {{ invoice_id }\nDone").run()
    assert any(e.value.startswith("Line 1: ") and "`Invoice {{ invoice_id }`" in e.value for e in app.error)
    app.button(key="new_template_submit").click().run()
    assert not app.exception
    assert any(e.value.startswith("Line 1: ") for e in app.error)
    assert TemplateService(workbench).count() == 0


def test_a_prompt_reaching_for_python_internals_is_refused_on_the_page(open_page, workbench):
    app = open_page(PAGE)
    app.text_input(key="new_template_name").input("Sneaky")
    app.text_area(key="new_template_prompt").input("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    app.button(key="new_template_submit").click().run()
    assert any("cannot reach Python internals" in e.value for e in app.error)
    assert TemplateService(workbench).count() == 0


def test_a_name_already_taken_is_shown_next_to_the_name_field(open_page, workbench):
    TemplateService(workbench).create(DRAFT)
    app = open_page(PAGE)
    app.text_input(key="new_template_name").input("defect classification")
    app.button(key="new_template_submit").click().run()
    assert not app.exception
    assert [e.value for e in app.error] == ["A template named 'defect classification' already exists."]
    assert TemplateService(workbench).count() == 1


def test_publishing_then_editing_as_a_new_version_selects_the_new_draft(open_page, workbench):
    template = TemplateService(workbench).create(DRAFT)
    app = open_page(PAGE, {"template": template.id})
    assert [h.value for h in app.subheader] == ["Defect classification v1.0.0"]
    app.button(key=f"publish_{template.id}").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == ["Defect classification v1.0.0 is now published."]
    assert app.button(key=f"publish_{template.id}").disabled
    app.selectbox(key=f"bump_{template.id}").select("major")
    app.button(key=f"new_version_{template.id}").click().run()
    assert [h.value for h in app.subheader] == ["Defect classification v2.0.0"]
    versions = TemplateService(workbench).versions(template.family_id)
    assert [(v.version, v.status) for v in versions] == [("2.0.0", TemplateStatus.DRAFT), ("1.0.0", TemplateStatus.PUBLISHED)]


def test_a_publish_that_fails_its_checks_says_why_and_changes_nothing(open_page, workbench):
    template = TemplateService(workbench).create(replace(DRAFT, output_schema=()))
    app = open_page(PAGE, {"template": template.id})
    app.button(key=f"publish_{template.id}").click().run()
    assert [e.value for e in app.error] == ["Define at least one output field before publishing."]
    assert TemplateService(workbench).get(template.id).status is TemplateStatus.DRAFT


def test_the_versions_tab_shows_the_diff_between_versions(open_page, workbench):
    service = TemplateService(workbench)
    v1 = service.publish(service.create(DRAFT))
    draft = service.new_version_from(v1)
    service.update(draft, replace(draft.as_draft(), user_prompt_template="Crystal {{ crystal_id }}."))
    app = open_page(PAGE, {"template": draft.id})
    assert not app.exception
    diffs = [c.value for c in app.code if c.language == "diff"]
    assert len(diffs) == 1
    assert "-Crystal {{ crystal_id }} from batch {{ batch_id }}.\n+Crystal {{ crystal_id }}." in diffs[0]


def test_editing_a_draft_saves_it_and_a_published_version_offers_no_edit(open_page, workbench):
    template = TemplateService(workbench).create(DRAFT)
    app = open_page(PAGE, {"template": template.id})
    app.toggle(key=f"edit_{template.id}").set_value(True).run()
    key = f"edit_{template.id}_1"
    app.text_area(key=f"{key}_description").input("Scintillator crystals, visual inspection")
    app.button(key=f"{key}_submit").click().run()
    assert not app.exception
    assert TemplateService(workbench).get(template.id).description == "Scintillator crystals, visual inspection"
    TemplateService(workbench).publish(TemplateService(workbench).get(template.id))
    app.run()
    assert not [t for t in app.toggle if t.key == f"edit_{template.id}"]


def test_testing_on_a_sheet_shows_the_rendered_prompts_and_says_no_model_is_configured(open_page, workbench, crystals):
    template = TemplateService(workbench).create(replace(DRAFT, source_sheet_id=crystals.id))
    app = open_page(PAGE, {"template": template.id})
    app.number_input(key=f"test_{template.id}_rows").set_value(2)
    app.button(key=f"test_{template.id}_run").click().run()
    assert not app.exception
    assert any(i.value.startswith("No model configured (set WORKBENCH_LLM_BASE_URL") for i in app.info)
    texts = [t.value for t in app.text]
    assert texts == [
        "You are a radiation safety expert.", "Crystal C-0 from batch B0.",
        "You are a radiation safety expert.", "Crystal C-1 from batch B1.",
    ]


def test_a_deep_link_to_a_missing_template_says_so(open_page, workbench):
    app = open_page(PAGE, {"template": "no-such-id"})
    assert not app.exception
    assert [w.value for w in app.warning] == ["That template does not exist (any more). Pick one from the library."]


@pytest.mark.timeout(180)
def test_a_prompt_past_a_render_limit_is_saved_then_its_test_names_the_limit_and_the_page_keeps_answering(open_page, workbench, crystals):
    app = open_page(PAGE)
    app.text_input(key="new_template_name").input("Hostile")
    app.selectbox(key="new_template_sheet").select(crystals.id)
    # The live check compiles as the person types: `%` with a huge width once hung right here.
    app.text_area(key="new_template_prompt").input("Crystal {{ crystal_id }}\n{{ '%1000000000d' % 1 }}").run()
    assert not app.exception
    app.button(key="new_template_submit").click().run()
    (template,) = TemplateService(workbench).list()
    app.number_input(key=f"test_{template.id}_rows").set_value(2)
    app.button(key=f"test_{template.id}_run").click().run()
    assert not app.exception
    limit = "Line 2: this makes text past the limit of 1,000,000 characters per value. — `{{ '%1000000000d' % 1 }}`"
    assert [e.value for e in app.error] == [limit, limit]
    app.run()
    assert not app.exception
    assert [h.value for h in app.subheader] == ["Hostile v1.0.0"]


def test_the_input_schema_is_shown_and_the_version_bump_control_is_labeled(open_page, workbench, crystals):
    inputs = (SchemaField("crystal_id", FieldType.STRING), SchemaField("batch_id", FieldType.STRING, "growth batch"))
    template = TemplateService(workbench).publish(
        TemplateService(workbench).create(replace(DRAFT, source_sheet_id=crystals.id, input_schema=inputs)))
    app = open_page(PAGE, {"template": template.id})
    assert not app.exception
    assert "No fields defined." not in [c.value for c in app.caption][:3]
    schemas = [list(d.value["Field"]) for d in app.dataframe if "Field" in d.value.columns]
    assert schemas[0] == ["crystal_id", "batch_id"]
    bump = app.selectbox(key=f"bump_{template.id}")
    assert bump.label == "Version bump" and bump.proto.label_visibility.value == 0  # visible
    assert bump.options == ["major → v2.0.0", "minor → v1.1.0", "patch → v1.0.1"]


def test_a_prompt_with_an_attached_image_shows_the_image_in_the_test(open_page, workbench):
    sheet = corpus.corpus_sheet(workbench, ())
    draft = replace(DRAFT, user_prompt_template="Crystal {{ item_id }}. The inspection image is attached.", source_sheet_id=sheet.id)
    template = TemplateService(workbench).create(draft)
    app = open_page(PAGE, {"template": template.id})
    app.number_input(key=f"test_{template.id}_rows").set_value(2)
    app.button(key=f"test_{template.id}_run").click().run()
    assert not app.exception
    assert [t.value for t in app.text][1] == "Crystal OK-00. The inspection image is attached."
    images = app.get("image")
    assert len(images) == 2
    assert any("OK-00.png" in c.value for c in app.caption)
