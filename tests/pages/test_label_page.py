from dataclasses import replace

import pytest

from components.box_drawer import value_key
from data_access.identity import User
from services.core.domain.canonical_label import LabelKey
from services.core.domain.qa_pair import LabelingMode
from services.core.domain.template import FieldType, SchemaField, TemplateDraft
from services.generate.generation import GenerationService
from services.labels.canonical_labels import CanonicalLabelService
from services.review.actions import ReviewService
from services.review.queue import ReviewQueue
from services.templates.prompt_templates import TemplateService
from tests import hostile_files as corpus
from tests.labeling_builders import photo_sheet, published_template
from tests.review_builders import CALIBRATION_REFS, ITEMS, LABELED_REFS, STARTING_LABELS, build_review_setup, generate


@pytest.fixture
def setup(invoice_source):
    return build_review_setup(invoice_source, with_source=False)


def _open(open_page, setup, **query):
    app = open_page("pages/label.py", {"training_sheet": setup.training_sheet.id, **query})
    assert not app.exception
    return app


def _header(app):
    return next(m.value for m in app.markdown if m.value.startswith("**INV-"))


def _pair(wb, setup, ref):
    return next(p for p in GenerationService(wb).first_pairs(setup.training_sheet.id, 100) if p.item_ref == ref)


def _progress(app):
    """The progress block's text (its two halves, one tree)."""
    return "\n".join(c.value for c in app.code if c.value.startswith(("Progress", "└─ Needs review")))


def _form(pair):
    """The key of a pair's review form (its inputs add the field name)."""
    return f"review_card_response_{pair.id}_{pair.row_version}"


def _advanced(app, pair):
    app.toggle(key=f"{_form(pair)}:advanced").set_value(True).run()
    return app.text_area(key=_form(pair))


def test_a_deep_link_opens_the_training_sheet_with_its_progress_and_the_first_pair_to_review(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    assert app.selectbox(key="label_training_sheet").value == setup.training_sheet.id
    progress = _progress(app)
    assert f"Progress: {STARTING_LABELS} / {ITEMS} labeled" in progress and f"Pre-approved (from canonical labels): {STARTING_LABELS}" in progress
    assert "Unlabeled: 37" in progress
    assert _header(app).startswith("**INV-0000** :gray-badge[unlabeled]")
    pair = _pair(invoice_source, setup, "INV-0000")
    assert app.query_params["pair"] == pair.id
    urgency = app.radio(key=f"{_form(pair)}_urgency")  # the template's choices, as the Canonical Labeling Tool shows them
    assert (urgency.options, urgency.value) == (["routine", "urgent"], "routine")
    assert not app.text_area  # the JSON editor waits behind its toggle
    assert {b.label for b in app.button} >= {"Approve", "Save edit & approve", "Reject", "Flag", "Previous", "Next", "Undo"}


def test_the_progress_block_adds_up_as_pairs_are_approved_rejected_and_flagged(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    app.button(key="review_actions_A").click().run()
    app.button(key="review_actions_X").click().run()
    app.text_input(key=f"review_actions_note_{_pair(invoice_source, setup, 'INV-0005').id}_1").input("Blurred scan")
    app.button(key="review_actions_F").click().run()
    lines = _progress(app).splitlines()
    assert lines[0] == f"Progress: {STARTING_LABELS + 1} / {ITEMS} labeled"
    numbers = {line.split(":")[0].strip(" ├└│─"): int(line.rsplit(":", 1)[1].replace(",", "")) for line in lines[1:]}
    assert numbers["Labeled"] == numbers["Pre-approved (from canonical labels)"] + numbers["Approved in review"] == STARTING_LABELS + 1
    assert numbers["Needs review"] == numbers["Unlabeled"] + numbers["Rejected"] + numbers["Flagged"] == (ITEMS - STARTING_LABELS - 3) + 1 + 1
    assert numbers["Labeled"] + numbers["Needs review"] == ITEMS


def test_approving_with_the_button_creates_the_label_and_shows_the_next_pair(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    first = _pair(invoice_source, setup, "INV-0000")
    app.button(key="review_actions_A").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == ["Approved INV-0000 and created its canonical label."]
    assert _header(app).startswith("**INV-0004**")  # 1-3 arrived pre-approved: not in the review queue
    assert app.query_params["pair"] == _pair(invoice_source, setup, "INV-0004").id
    assert f"Progress: {STARTING_LABELS + 1} / {ITEMS} labeled" in _progress(app)
    label = CanonicalLabelService(invoice_source).find(LabelKey(setup.sheet.id, "INV-0000", "classification"))
    assert label is not None and ReviewQueue(invoice_source).pair(first.id).canonical_label_id == label.id


def test_an_edit_in_the_form_is_approved_with_its_own_button_and_undo_takes_it_back(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    pair = _pair(invoice_source, setup, "INV-0000")
    app.radio(key=f"{_form(pair)}_urgency").set_value("urgent").run()
    assert any(c.language == "diff" and '+  "urgency": "urgent"' in c.value for c in app.code)
    app.button(key="review_actions_A").click().run()
    assert any("You edited the response" in e.value for e in app.error)
    app.button(key="review_actions_E").click().run()
    assert [s.value for s in app.success] == ["Edited and approved INV-0000 and created its canonical label."]
    assert ReviewQueue(invoice_source).pair(pair.id).response == '{"urgency": "urgent"}'
    label = CanonicalLabelService(invoice_source).find(LabelKey(setup.sheet.id, "INV-0000", "classification"))
    assert label.label_data == {"urgency": "urgent"}
    app.button(key="review_actions_U").click().run()
    assert [s.value for s in app.success] == ["Undone: INV-0000 is unlabeled again."]
    assert _header(app).startswith("**INV-0000** :gray-badge[unlabeled]")
    undone = ReviewQueue(invoice_source).pair(pair.id)
    assert app.radio(key=f"{_form(undone)}_urgency").value == "routine"  # a new version: the form shows the stored answer again
    assert CanonicalLabelService(invoice_source).find(LabelKey(setup.sheet.id, "INV-0000", "classification")) is None


def test_revert_edit_puts_the_form_back_to_the_stored_answer(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    pair = _pair(invoice_source, setup, "INV-0000")
    app.radio(key=f"{_form(pair)}_urgency").set_value("urgent").run()
    app.button(key="review_actions_revert").click().run()
    assert app.radio(key=f"{_form(pair)}_urgency").value == "routine"
    assert not any(c.language == "diff" for c in app.code)
    app.button(key="review_actions_A").click().run()
    assert [s.value for s in app.success] == ["Approved INV-0000 and created its canonical label."]


def test_the_advanced_json_editor_starts_from_the_form_and_the_form_from_the_json(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    pair = _pair(invoice_source, setup, "INV-0000")
    app.radio(key=f"{_form(pair)}_urgency").set_value("urgent").run()
    assert _advanced(app, pair).value == '{"urgency": "urgent"}'
    app.text_area(key=_form(pair)).input('{"urgency": "routine"}').run()
    app.toggle(key=f"{_form(pair)}:advanced").set_value(False).run()
    assert app.radio(key=f"{_form(pair)}_urgency").value == "routine"
    assert not app.text_area


def test_an_invalid_json_edit_shows_the_error_and_changes_nothing(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    pair = _pair(invoice_source, setup, "INV-0000")
    _advanced(app, pair).input('{"urgency": "urgent"').run()
    assert any("not valid JSON" in e.value for e in app.error)
    assert any(c.language == "diff" for c in app.code)
    app.button(key="review_actions_E").click().run()
    assert any("The response is not valid JSON" in e.value for e in app.error)
    assert _header(app).startswith("**INV-0000**")
    assert ReviewQueue(invoice_source).pair(pair.id) == pair
    assert ReviewService(invoice_source).history(pair.id) == []


def test_the_pre_approved_chip_lists_pre_approved_pairs_with_who_labeled_them(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    app.button_group(key="label_filters_chip").set_value("Pre-approved from canonical labels").run()
    assert not app.exception
    assert _header(app).startswith("**INV-0001** :green-badge[labeled]")
    assert any(c.value.startswith("Pre-approved: its canonical label (version 1) was labeled by tester@example.com at ") for c in app.caption)
    assert any(m.value.startswith(f"**{STARTING_LABELS} pairs** in this queue (pre-approved from canonical labels)") for m in app.markdown)
    table = app.dataframe[-1].value
    assert table["Item"].tolist()[:3] == ["INV-0001", "INV-0002", "INV-0003"]
    assert set(table["Item"]) <= set(LABELED_REFS) | set(CALIBRATION_REFS)
    assert all(by.startswith("tester@example.com (") for by in table["Pre-approved, labeled by"])


def test_flagging_without_a_note_is_refused_on_the_card(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    app.button(key="review_actions_F").click().run()
    assert [e.value for e in app.error] == ["Write a note saying why you flag this pair; the next reviewer reads it."]
    pair = _pair(invoice_source, setup, "INV-0000")
    app.text_input(key=f"review_actions_note_{pair.id}_1").input("Amount looks wrong")
    app.button(key="review_actions_F").click().run()
    assert [s.value for s in app.success] == ["Flagged INV-0000."]
    assert ReviewQueue(invoice_source).pair(pair.id).review_notes == "Amount looks wrong"


def test_a_stale_approval_names_the_other_reviewer_and_reloads_their_version(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    pair = _pair(invoice_source, setup, "INV-0000")
    other = replace(invoice_source, backend=replace(invoice_source.backend, user=User("dana@mirion.example", "dana")))
    ReviewService(other).reject(pair, 1, "Duplicate scan")
    app.button(key="review_actions_A").click().run()
    [warning] = [w.value for w in app.warning]
    assert warning.startswith("dana@mirion.example rejected this pair at ") and "Your approval was not saved" in warning
    assert _header(app).startswith("**INV-0000** :red-badge[rejected]")


def test_bulk_approval_asks_with_the_count_then_approves_the_filtered_queue(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    app.slider(key="label_filters_confidence").set_value((0.95, 1.0)).run()
    high = [p for p in GenerationService(invoice_source).first_pairs(setup.training_sheet.id, 100) if (p.ai_confidence or 0) >= 0.95]
    app.button(key="bulk_review_approve").click().run()
    assert not app.exception
    assert any(f"**{len(high)} pairs will be approved**" in m.value for m in app.markdown)
    # City Medical Center's drafts: every labeled City invoice drafted from the others agreed.
    assert any(f"agreed with experts 100% of the time (measured on 11 labeled items): of these {len(high)} pairs, expect about {len(high)}"
               in m.value for m in app.markdown)
    app.button(key="bulk_review_bulk_approve_confirm").click().run()
    assert [s.value for s in app.success] == [
        f"Approved {len(high)} pairs (status unlabeled or flagged, AI confidence ≥ 0.95, AI confidence ≤ 1).",
        "Nothing left in this queue. Change the filter to see other pairs.",
    ]
    assert CanonicalLabelService(invoice_source).count(setup.sheet.id) == STARTING_LABELS + len(high)


def test_a_deep_link_to_a_pair_opens_it_and_next_and_previous_walk_the_queue(open_page, setup, invoice_source):
    pair = _pair(invoice_source, setup, "INV-0007")
    app = _open(open_page, setup, pair=pair.id)
    assert _header(app).startswith("**INV-0007**")
    assert any("reviewing **5** of 37" in m.value for m in app.markdown)
    app.button(key="review_actions_N").click().run()
    assert _header(app).startswith("**INV-0008**")
    app.button(key="review_actions_P").click().run()
    app.button(key="review_actions_P").click().run()
    assert _header(app).startswith("**INV-0006**")
    assert ReviewService(invoice_source).history(pair.id) == []  # walking changes nothing


def test_an_expert_changes_usage_constraints_on_the_card_with_a_reason(open_page, setup, invoice_source):
    app = _open(open_page, setup)
    pair = _pair(invoice_source, setup, "INV-0000")
    editor = f"review_card_constraints_{pair.id}_1"
    app.checkbox(key=f"{editor}_allow_training").uncheck()
    app.checkbox(key=f"{editor}_allow_validation").uncheck()
    app.checkbox(key=f"{editor}_prohibit_training").check()
    app.checkbox(key=f"{editor}_prohibit_validation").check()
    app.selectbox(key=f"{editor}_classification").select("restricted")
    app.text_input(key=f"{editor}_reason").input("PHI")
    app.button(key=f"review_card_constraints_save_{pair.id}").click().run()
    assert not app.exception and not app.error
    assert any(":red-badge[Training prohibited: PHI]" in m.value and "restricted" in m.value for m in app.markdown)
    [audit] = ReviewService(invoice_source).constraint_audit(pair.id)
    assert (audit.new.prohibited_uses, audit.new.data_classification, audit.reason) == (("training", "validation"), "restricted", "PHI")


def test_without_training_sheets_the_page_says_where_to_make_one(open_page, invoice_source):
    app = open_page("pages/label.py")
    assert not app.exception
    assert [i.value for i in app.info] == ["No Training Sheets yet. Generate one on the GENERATE page, then review it here."]


def test_a_hostile_file_beside_a_pair_shows_its_message_while_the_card_and_next_keep_working(open_page, workbench, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_IMAGE_PIXELS", "4000000")
    names = ("DOC-encrypted.pdf", "DOC-huge-page.pdf", "IMG-apng.png", "IMG-bmp-bomb.bmp", "IMG-one-bit.png")
    sheet = corpus.corpus_sheet(workbench, [corpus.named(n) for n in names])
    template = TemplateService(workbench).publish(TemplateService(workbench).create(TemplateDraft(
        "Corpus", "classification", user_prompt_template="Item {{ item_id }}.", output_schema=(SchemaField("defect", FieldType.STRING),),
    )))
    training_sheet = generate(workbench, sheet.id, template.id, LabelingMode.MANUAL)
    first = next(p for p in GenerationService(workbench).first_pairs(training_sheet.id, 100) if p.item_ref == "DOC-encrypted")
    app = open_page("pages/label.py", {"training_sheet": training_sheet.id, "pair": first.id})
    seen = {}
    for _ in names:
        assert not app.exception
        ref = next(m.value for m in app.markdown if m.value.startswith(("**DOC-", "**IMG-"))).split("**")[1]
        assert {b.label for b in app.button} >= {"Approve", "Save edit & approve", "Reject", "Flag", "Previous", "Next", "Undo"}
        about_files = [w.value for w in app.warning if w.value.startswith(ref)]  # the empty response is warned about too
        seen[ref] = (about_files, len(app.image), [c.value for c in app.caption if c.value.startswith("This page is")])
        app.button(key="review_actions_N").click().run()
    assert seen == {
        "DOC-encrypted": (["DOC-encrypted.pdf is encrypted and needs a password; it cannot be shown here."], 0, []),
        "DOC-huge-page": ([], 1, ["This page is 200 × 200 in; it is shown at 14% zoom."]),
        "IMG-apng": (["IMG-apng.png cannot be opened: the file is damaged or is not an image."], 0, []),
        "IMG-bmp-bomb": (["IMG-bmp-bomb.bmp is too large to open: above the limit of 4,000,000 pixels."], 0, []),
        "IMG-one-bit": ([], 1, []),
    }


def test_boxes_drawn_on_the_pairs_image_are_approved_as_its_answer(open_page, workbench):
    sheet = photo_sheet(workbench, count=3)
    template = published_template(workbench, "localization", (SchemaField("boxes", FieldType.ARRAY),), sheet.id)  # as the demo's
    training_sheet = generate(workbench, sheet.id, template.id, LabelingMode.MANUAL)
    pair = GenerationService(workbench).first_pairs(training_sheet.id, 1)[0]
    app = open_page("pages/label.py", {"training_sheet": training_sheet.id, "pair": pair.id})
    assert not app.exception
    assert "No boxes drawn: saving says there is nothing to localize." in [m.value for m in app.markdown]
    # AppTest cannot run the drawing's JavaScript: set what the drawer reports, as the browser would.
    app.session_state[value_key(_form(pair))] = [{"x_min": 100, "y_min": 60, "x_max": 220, "y_max": 180, "label": "crack"}]
    app.run()
    assert "**1 box(es)** drawn on the image." in [m.value for m in app.markdown]
    app.button(key="review_actions_E").click().run()
    assert next(s.value for s in app.success) == f"Edited and approved {pair.item_ref} and created its canonical label."
    label = CanonicalLabelService(workbench).find(LabelKey(sheet.id, pair.item_ref, "localization"))
    assert label.label_data == {"boxes": [{"x_min": 100, "y_min": 60, "x_max": 220, "y_max": 180, "label": "crack"}]}


def test_a_link_from_generate_opens_a_pre_approved_pair_with_who_labeled_it(open_page, setup, invoice_source):
    pair = _pair(invoice_source, setup, "INV-0002")
    app = _open(open_page, setup, pair=pair.id)  # the link GENERATE's summary gives each reused label
    assert _header(app).startswith("**INV-0002** :green-badge[labeled] :gray-badge[Pre-approved from a canonical label]")
    assert any(c.value.startswith("Pre-approved: its canonical label (version 1) was labeled by tester@example.com") for c in app.caption)
