import re

import pytest

from components.box_drawer import value_key
from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.governance import UsageConstraints
from services.labels.canonical_labels import CanonicalLabelService
from tests import hostile_files as corpus
from tests.labeling_builders import ENTITY_FIELDS, URGENCY_FIELDS, invoice_sheet, photo_sheet, published_template

PAGE = "pages/canonical_labeling.py"


@pytest.fixture
def sheet(workbench):
    sheet = invoice_sheet(workbench, sample_size=8)
    published_template(workbench, "classification", URGENCY_FIELDS, sheet_id=sheet.id, name="Triage")
    published_template(workbench, "entity_extraction", ENTITY_FIELDS, sheet_id=sheet.id, name="Entities")
    return sheet


def form_key(sheet_id, ref, label_type, version=0):
    return f"label_{LabelKey(sheet_id, ref, label_type).label_id}_{version}"


def table_with(app, column):
    return next(d.value for d in app.dataframe if column in d.value.columns)


def markdown(app):
    return [m.value for m in app.markdown]


def test_a_deep_link_opens_the_item_with_a_form_built_from_the_template(open_page, sheet):
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "classification", "item": "INV-0002"})
    assert not app.exception
    assert [t.value for t in app.title] == ["Canonical Labeling Tool"]
    assert app.selectbox(key="labeling_target_sheet").value == sheet.id
    assert "**INV-0002** · no classification label yet" in markdown(app)
    urgency = app.radio(key=f"{form_key(sheet.id, 'INV-0002', 'classification')}_urgency")
    assert urgency.options == ["routine", "priority", "urgent"] and urgency.value is None
    assert any("Triage v1.0.0" in c.value for c in app.caption)
    assert any(":red-badge[Training prohibited: Source tagged PHI in Unity Catalog]" in m for m in markdown(app))


def test_labeling_an_item_through_the_form_saves_it_and_moves_to_the_next_unlabeled_item(open_page, workbench, sheet):
    CanonicalLabelService(workbench).save(LabelKey(sheet.id, "INV-0003", "classification"), LabelContent({"urgency": "routine"}), 0)
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "classification", "item": "INV-0002"})
    key = form_key(sheet.id, "INV-0002", "classification")
    app.radio(key=f"{key}_urgency").set_value("urgent")
    app.radio(key=f"{key}_confidence").set_value("medium")
    app.text_area(key=f"{key}_notes").input("FINAL NOTICE stamped on page 1")
    app.button(key=f"FormSubmitter:{key}-Save label").click().run()
    assert not app.exception
    label = CanonicalLabelService(workbench).find(LabelKey(sheet.id, "INV-0002", "classification"))
    assert (label.label_data, label.content.confidence, label.content.notes) == ({"urgency": "urgent"}, "medium", "FINAL NOTICE stamped on page 1")
    assert label.labeled_by == "tester@example.com" and not label.constraints.permits("training")
    assert [s.value for s in app.success] == ["Saved the classification label of INV-0002 (version 1)."]
    assert app.query_params["item"] == "INV-0004"  # INV-0003 is already labeled
    assert "2 / 8 labeled" in app.progress[0].proto.text


def test_a_label_missing_a_required_entity_shows_the_error_and_writes_nothing(open_page, workbench, sheet):
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "entity_extraction", "item": "INV-0001"})
    key = form_key(sheet.id, "INV-0001", "entity_extraction")
    app.text_input(key=f"{key}_total_amount").input("285.50")
    app.button(key=f"FormSubmitter:{key}-Save label").click().run()
    assert [e.value for e in app.error] == ["Missing required entity 'patient_name'."]
    assert CanonicalLabelService(workbench).count(sheet.id) == 0
    assert app.query_params["item"] == "INV-0001"


def test_the_history_shows_who_changed_what_and_a_rollback_makes_a_new_version(open_page, workbench, sheet):
    labels = CanonicalLabelService(workbench)
    key = LabelKey(sheet.id, "INV-0001", "classification")
    labels.save(key, LabelContent({"urgency": "routine"}, notes="first look"), 0)
    labels.save(key, LabelContent({"urgency": "urgent"}, notes="second notice found"), 1)
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "classification", "item": "INV-0001"})
    history = table_with(app, "Change")
    assert list(history["Version"]) == [1, 2] and list(history["Change"]) == ["created", "edited"]
    assert set(history["By"]) == {"tester@example.com"}
    diff = table_with(app, "Version 2")
    assert list(diff["Field"]) == ["label.urgency", "notes"] and list(diff["Version 2"]) == ["urgent", "second notice found"]
    app.selectbox(key=f"history_{key.label_id}_target").set_value(1)
    app.button(key=f"history_{key.label_id}_rollback").click().run()
    assert not app.exception
    label = labels.find(key)
    assert (label.version, label.label_data) == (3, {"urgency": "routine"})
    assert [v.change_kind for v in labels.history(key.label_id)] == ["create", "edit", "rollback"]
    assert [s.value for s in app.success] == ["Rolled back to version 1; the label is now version 3."]


def test_every_labelset_of_the_item_is_shown_and_one_opens_its_own_form(open_page, workbench, sheet):
    labels = CanonicalLabelService(workbench)
    labels.save(LabelKey(sheet.id, "INV-0001", "classification"), LabelContent({"urgency": "routine"}), 0)
    cleared = UsageConstraints(usage_reason="No PHI in a summary of totals")
    labels.save(LabelKey(sheet.id, "INV-0001", "summarization"), LabelContent({"text": "A routine visit."}, constraints=cleared), 0)
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "classification", "item": "INV-0001"})
    assert "**classification** · this form" in markdown(app) and "**summarization**" in markdown(app)
    assert ":green-badge[All uses allowed] :gray-badge[internal]" in markdown(app)
    app.button(key="sets_INV-0001_summarization").click().run()
    assert app.query_params["label_type"] == "summarization"
    summary = app.text_area(key=f"{form_key(sheet.id, 'INV-0001', 'summarization', 1)}_text")
    assert summary.value == "A routine visit." and summary.label == "Summary"


def test_the_grid_filters_items_and_opens_the_one_picked(open_page, workbench, sheet):
    CanonicalLabelService(workbench).save(LabelKey(sheet.id, "INV-0000", "classification"), LabelContent({"urgency": "routine"}), 0)
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "classification"})
    assert "1 / 8 labeled" in app.progress[0].proto.text
    browse = f"browse_{sheet.id}_classification"
    shown = [m for m in markdown(app) if m.startswith("**INV-")]
    assert shown[0] == "**INV-0001**" and "**INV-0000**" not in shown  # unlabeled items first
    app.segmented_control(key=f"{browse}_status").set_value("labeled").run()
    assert [m for m in markdown(app) if m.startswith("**INV-")] == ["**INV-0000**"]
    app.button(key=f"{browse}_open_INV-0000").click().run()
    assert app.query_params["item"] == "INV-0000"
    assert "**INV-0000** · classification v1 by tester@example.com" in markdown(app)


def test_next_and_previous_follow_the_grids_filter(open_page, workbench, sheet):
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "classification", "item": "INV-0003"})
    nav = f"nav_browse_{sheet.id}_classification"
    app.button(key=f"{nav}_next").click().run()
    assert app.query_params["item"] == "INV-0004"
    app.button(key=f"{nav}_previous").click().run()
    app.button(key=f"{nav}_previous").click().run()
    assert app.query_params["item"] == "INV-0002"
    app.button(key=f"{nav}_back").click().run()
    assert "item" not in app.query_params


def test_boxes_drawn_on_an_image_are_saved_in_image_pixels(open_page, workbench):
    sheet = photo_sheet(workbench)
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "localization", "item": "INSP-001"})
    assert not app.exception
    key = form_key(sheet.id, "INSP-001", "localization")
    # AppTest cannot run the drawing's JavaScript: set what the drawer reports, as the browser would.
    app.session_state[value_key(key)] = [{"x_min": 100, "y_min": 60, "x_max": 220, "y_max": 180, "label": "crack"}]
    app.run()
    assert "**1 box(es)** drawn on the image." in markdown(app)
    app.button(key=f"FormSubmitter:{key}-Save label").click().run()
    label = CanonicalLabelService(workbench).find(LabelKey(sheet.id, "INSP-001", "localization"))
    assert label.label_data == {"boxes": [{"x_min": 100, "y_min": 60, "x_max": 220, "y_max": 180, "label": "crack"}]}


def test_a_box_reaching_outside_the_image_is_refused(open_page, workbench):
    sheet = photo_sheet(workbench)
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "localization", "item": "INSP-002"})
    key = form_key(sheet.id, "INSP-002", "localization")
    app.number_input(key=f"{key}_x_min").set_value(10)
    app.number_input(key=f"{key}_y_min").set_value(10)
    app.number_input(key=f"{key}_x_max").set_value(300)
    app.number_input(key=f"{key}_y_max").set_value(200)
    app.text_input(key=f"{key}_class").input("stain")  # no template, no labels yet: classes are free text
    app.button(key=f"{key}_add").click().run()
    assert app.session_state[value_key(key)] == [{"x_min": 10, "y_min": 10, "x_max": 300, "y_max": 200, "label": "stain"}]
    app.button(key=f"FormSubmitter:{key}-Save label").click().run()
    assert CanonicalLabelService(workbench).find(LabelKey(sheet.id, "INSP-002", "localization")).label_data["boxes"][0]["label"] == "stain"


def test_the_canonical_labels_button_is_in_every_pages_header(open_page):
    app = open_page("pages/data.py")
    links = [link for link in app.get("page_link") if link.proto.label == "Canonical Labels"]
    assert len(links) == 1 and links[0].proto.page_script_hash  # resolved to a page of the app
    assert any(link.proto.label == "Canonical Labels" for link in open_page(PAGE).get("page_link"))


def test_a_label_changed_by_someone_else_meanwhile_is_not_overwritten(open_page, workbench, sheet):
    labels = CanonicalLabelService(workbench)
    key = LabelKey(sheet.id, "INV-0005", "classification")
    labels.save(key, LabelContent({"urgency": "routine"}), 0)
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "classification", "item": "INV-0005"})
    labels.save(key, LabelContent({"urgency": "priority"}, notes="second notice"), 1)  # another expert, same moment
    form = form_key(sheet.id, "INV-0005", "classification", version=1)
    app.radio(key=f"{form}_urgency").set_value("urgent")
    app.button(key=f"FormSubmitter:{form}-Save label").click().run()
    assert any("changed this classification label after you opened it" in w.value for w in app.warning)
    assert labels.find(key).label_data == {"urgency": "priority"} and labels.find(key).version == 2
    app.run()  # the next run shows their label, ready to edit
    assert app.radio(key=f"{form_key(sheet.id, 'INV-0005', 'classification', version=2)}_urgency").value == "priority"


def _shown_refs(app):
    return [m.strip("*") for m in markdown(app) if re.fullmatch(r"\*\*(DOC|IMG|OK)-[\w-]+\*\*", m)]


def test_the_grid_shows_a_hostile_files_message_on_its_card_and_pages_on(open_page, workbench):
    files = (*corpus.HOSTILE_IMAGES, *corpus.AWKWARD_IMAGES)
    sheet = corpus.corpus_sheet(workbench, files)
    expected = {corpus.stem(f.name): f"{f.name} {f.message}" for f in files if f.message}
    refs = sorted([corpus.stem(f.name) for f in files] + [f"OK-{i:02d}" for i in range(corpus.GOOD_ITEMS)])
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "classification"})
    browse = f"browse_{sheet.id}_classification"
    for number, page_refs in enumerate((refs[:12], refs[12:])):
        assert not app.exception
        assert _shown_refs(app) == page_refs
        warnings = [w.value for w in app.warning]
        assert len(warnings) == sum(r in expected for r in page_refs)
        assert all(w.startswith(expected[r]) for w, r in zip(warnings, [r for r in page_refs if r in expected], strict=True))
        assert len(app.image) == sum(r not in expected for r in page_refs)
        assert all(app.button(key=f"{browse}_open_{r}").label == "Label" for r in page_refs)
        if number == 0:
            app.button(key=f"{browse}_page_unlabeled_None_next").click().run()


def test_a_hostile_image_to_draw_boxes_on_says_why_and_the_form_and_next_still_work(open_page, workbench):
    names = ("IMG-gif-bomb.gif", "IMG-huge.png", "IMG-sixteen-bit-tiff.tif")
    sheet = corpus.corpus_sheet(workbench, [corpus.named(n) for n in names])
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "localization", "item": "IMG-gif-bomb"})
    nav = f"nav_browse_{sheet.id}_localization"
    seen = {}
    for _ in names:
        assert not app.exception
        ref = app.query_params["item"]
        key = form_key(sheet.id, ref, "localization")
        assert app.button(key=f"FormSubmitter:{key}-Save label") and app.button(key=f"{nav}_next")
        seen[ref] = [w.value for w in app.warning]
        app.button(key=f"{nav}_next").click().run()
    assert seen == {
        "IMG-gif-bomb": ["IMG-gif-bomb.gif is too large to open: above the limit of 60,000,000 pixels."],
        "IMG-huge": ["IMG-huge.png is too large to open: 10,950 × 10,950 pixels, above the limit of 60,000,000 pixels."],
        "IMG-sixteen-bit-tiff": [],  # drawn on, in 8 bits
    }
def test_a_deep_link_to_a_label_type_with_a_trailing_newline_starts_no_look_alike_labelset(open_page, workbench, sheet):
    app = open_page(PAGE, {"sheet": sheet.id, "label_type": "classification\n", "item": "INV-0002"})
    assert not app.exception
    assert "The link asks for label type 'classification\\n', which cannot be one; showing classification instead." in [
        w.value for w in app.warning
    ]
    label_type = app.selectbox(key=f"labeling_target_type_{sheet.id}").value
    assert label_type == "classification"
    assert app.query_params["label_type"] == "classification"
