import pytest

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.qa_pair import LabelingMode
from services.core.domain.sheet import SheetDraft
from services.core.domain.template import FieldType, SchemaField, TemplateDraft
from services.core.jobs import JobRunner
from services.data.sheets import SheetService
from services.generate.generation import GenerationRequest, GenerationService
from services.labels.canonical_labels import CanonicalLabelService
from services.review.actions import ReviewService
from services.templates.prompt_templates import TemplateService
from tests import hostile_files as corpus


@pytest.fixture
def ready(invoice_source):
    wb = invoice_source
    sheet = SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", sample_size=30))
    templates = TemplateService(wb)
    template = templates.publish(
        templates.create(
            TemplateDraft(
                name="Urgency", label_type="classification", user_prompt_template="Invoice {{ invoice_id }} for {{ total_amount }}",
                system_prompt="You sort medical invoices by how soon they need paying.",
                output_schema=(SchemaField("urgency", FieldType.STRING),),
            )
        )
    )
    CanonicalLabelService(wb).save(LabelKey(sheet.id, "INV-0003", "classification"), LabelContent({"urgency": "urgent"}), 0)
    return wb, sheet, template


def test_previewing_shows_which_items_arrive_pre_approved(open_page, ready):
    app = open_page("pages/generate.py")
    app.radio(key="generate_mode").set_value(app.radio(key="generate_mode").options[1]).run()  # manual
    app.button(key="generate_preview").click().run()
    assert not app.exception
    headers = [m.value for m in app.markdown if m.value.startswith("**INV-")]
    assert len(headers) == 5
    assert "Pre-approved from a canonical label" in headers[3] and headers[3].startswith("**INV-0003**")
    assert GenerationService(ready[0]).count() == 0
    system = "You sort medical invoices by how soon they need paying."
    assert [t.value for t in app.text].count(system) == 1  # the system message once, not once per pair
    assert [c.value for c in app.caption].count("User message") == 5


def test_generating_from_the_page_runs_the_job_and_lists_the_pre_approved_pairs(open_page, ready):
    wb = ready[0]
    app = open_page("pages/generate.py")
    app.radio(key="generate_mode").set_value(app.radio(key="generate_mode").options[1]).run()
    app.button(key="generate_start").click().run()
    assert not app.exception
    training_sheet = GenerationService(wb).list()[0]
    assert app.query_params["training_sheet"] == training_sheet.id
    assert JobRunner(wb).wait(training_sheet.job_id, 60).status == "succeeded"
    app.run()
    assert any(m.value.startswith("30 pairs · 1 labeled (1 pre-approved)") for m in app.markdown)
    assert [s.value for s in app.success] == [
        "**1 of 30 pre-approved from canonical labels**; this is the first Training Sheet from this sheet, "
        "so each of those labels is reused here for the first time."
    ]
    assert app.dataframe[-1].value["Item"].tolist() == ["INV-0003"]


def test_after_a_generation_the_labels_made_since_the_last_training_sheet_are_named_with_a_link_to_label(open_page, ready):
    wb, sheet, template = ready
    first = GenerationService(wb).start(GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    assert JobRunner(wb).wait(first.job_id, 60).status == "succeeded"
    CanonicalLabelService(wb).save(LabelKey(sheet.id, "INV-0007", "classification"), LabelContent({"urgency": "routine"}), 0)
    second = GenerationService(wb).start(GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL, name="Urgency, again"))
    assert JobRunner(wb).wait(second.job_id, 60).status == "succeeded"
    app = open_page("pages/generate.py", {"training_sheet": second.id})
    assert not app.exception
    [headline] = [s.value for s in app.success]
    assert headline.startswith("**2 of 30 pre-approved from canonical labels**; **1 of them labeled since the last Training Sheet from this sheet** (")
    _, recent, every = (d.value for d in app.dataframe)  # the list, the new labels, every pre-approved pair
    pair = next(p for p in GenerationService(wb).first_pairs(second.id, 30) if p.item_ref == "INV-0007")
    assert recent[["Item", "Label type", "Labeled by"]].values.tolist() == [["INV-0007", "classification", "tester@example.com"]]
    assert recent["When"].iloc[0].endswith(" UTC")
    assert recent["In LABEL"].tolist() == [f"label?training_sheet={second.id}&pair={pair.id}"]
    assert "Canonical label" not in recent.columns  # items, not label UUIDs
    assert every["Item"].tolist() == ["INV-0003", "INV-0007"]


def test_a_pre_approved_pair_rejected_later_is_not_listed_as_training_allowed(open_page, ready):
    wb, sheet, template = ready
    CanonicalLabelService(wb).save(LabelKey(sheet.id, "INV-0004", "classification"), LabelContent({"urgency": "routine"}), 0)
    training_sheet = GenerationService(wb).start(GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    assert JobRunner(wb).wait(training_sheet.job_id, 60).status == "succeeded"
    rejected = next(p for p in GenerationService(wb).first_pairs(training_sheet.id, 10) if p.item_ref == "INV-0003")
    ReviewService(wb).reject(rejected, rejected.row_version, note="Not an invoice")
    app = open_page("pages/generate.py", {"training_sheet": training_sheet.id})
    assert not app.exception
    table = app.dataframe[-1].value
    assert table["Item"].tolist() == ["INV-0003", "INV-0004"]
    assert table["Training allowed"].tolist() == [False, True]
    assert table["Why not"].tolist() == ["Status: rejected", ""]


def test_the_preview_shows_each_items_attached_image(open_page, workbench):
    sheet = corpus.corpus_sheet(workbench, ())
    templates = TemplateService(workbench)
    templates.publish(templates.create(TemplateDraft(
        name="Defects", label_type="classification", user_prompt_template="Crystal {{ item_id }}. The inspection image is attached.",
        output_schema=(SchemaField("defect_type", FieldType.STRING),), source_sheet_id=sheet.id)))
    app = open_page("pages/generate.py")
    app.radio(key="generate_mode").set_value(app.radio(key="generate_mode").options[1]).run()  # manual
    app.button(key="generate_preview").click().run()
    assert not app.exception
    assert len(app.get("image")) == 5
    assert any("OK-00.png" in c.value for c in app.caption if c.value.startswith("Attached: "))
