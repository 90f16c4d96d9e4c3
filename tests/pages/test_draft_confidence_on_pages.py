"""What a draft's confidence means, where drafts are shown: the review card, the bulk dialog
and the Training Sheet on GENERATE."""

import pytest

from services.generate.draft_calibration import CONFIG_KEY
from services.generate.generation import GenerationService
from services.generate.training_sheets_store import TrainingSheetsStore
from tests.review_builders import build_review_setup, generate, publish_template


@pytest.fixture
def setup(invoice_source):
    return build_review_setup(invoice_source, with_source=False)


def _pair_id(wb, training_sheet_id, ref):
    return next(p.id for p in GenerationService(wb).first_pairs(training_sheet_id, 100) if p.item_ref == ref)


def test_the_review_card_says_how_often_drafts_at_this_confidence_agreed_with_experts(open_page, setup, invoice_source):
    ts = setup.training_sheet.id
    app = open_page("pages/label.py", {"training_sheet": ts, "pair": _pair_id(invoice_source, ts, "INV-0005")})
    assert not app.exception
    assert any(
        c.value.startswith("Drafts at this confidence agreed with experts 75% of the time, on 12 labeled items") for c in app.caption
    )


def test_a_label_type_the_drafter_cannot_help_with_shows_no_suggestion_and_says_why(open_page, setup, invoice_source):
    summaries = generate(invoice_source, setup.sheet.id, publish_template(invoice_source, "summarization").id)
    app = open_page("pages/label.py", {"training_sheet": summaries.id})
    assert not app.exception
    assert [i.value for i in app.info if i.value.startswith("No suggestion")] == [
        "No suggestion from the offline drafter: only 0 item(s) of this type have an expert label; at least 10 are "
        "needed to measure how often drafts agree with experts."
    ]


def test_the_bulk_dialog_shows_the_expected_agreement_or_refuses_an_unmeasured_confidence(open_page, setup, invoice_source):
    ts = setup.training_sheet.id
    app = open_page("pages/label.py", {"training_sheet": ts})
    app.slider(key="label_filters_confidence").set_value((0.0, 0.8)).run()
    app.button(key="bulk_review_approve").click().run()
    assert not app.exception
    assert any("agreed with experts 75% of the time (measured on 12 labeled items): of these 18 pairs, expect about 14" in m.value
               for m in app.markdown)
    assert not app.button(key="bulk_review_bulk_approve_confirm").disabled

    store = TrainingSheetsStore(invoice_source.backend.engine, invoice_source.table("training_sheets"), invoice_source.table("qa_pairs"))
    config = dict(store.get(ts).generation_config)
    config.pop(CONFIG_KEY)  # as a Training Sheet drafted before confidences were measured
    store.set_generation_config(ts, config)
    app.run()
    assert any(e.value.startswith("Approving by AI confidence needs to know how often drafts at that confidence agree") for e in app.error)
    assert app.button(key="bulk_review_bulk_approve_confirm").disabled


def test_a_training_sheet_shows_its_drafters_accuracy_beside_the_majority_answer_and_the_calibration_table(open_page, setup):
    app = open_page("pages/generate.py", {"training_sheet": setup.training_sheet.id})
    assert not app.exception
    assert any(
        m.value.startswith("**Offline drafter** — On the 23 items with an expert label, each drafted from the others, its drafts "
                           "agreed with the expert 87% of the time; always answering the most common label would agree 61%.")
        for m in app.markdown
    )
    table = next(d.value for d in app.dataframe if "Confidence" in d.value.columns)
    assert table["Confidence"].tolist() == ["0.75", "1.00"] and table["Labeled items"].tolist() == [12, 11]


def test_the_preview_says_what_each_drafts_confidence_means(open_page, setup):
    app = open_page("pages/generate.py")
    app.button(key="generate_preview").click().run()
    assert not app.exception
    assert any(i.value.startswith("Offline drafter (no language model)") for i in app.info)
    assert "response · confidence 1.00: drafts at this confidence agreed with experts 100% of the time, on 11 labeled items" in [
        c.value for c in app.caption
    ]
