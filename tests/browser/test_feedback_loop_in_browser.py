"""IMPROVE's whole loop in headless Chromium on a real server: an item of the model's sheet sent
through the Playground of a locally deployed version (the real SmolLM2 chat model), a thumbs down
with a correction, the feedback added from IMPROVE's queue to the model's own Training Sheet, the
pair approved in LABEL, a Retrain from IMPROVE that trains a tiny real LoRA run (the recorded
run's TINY_CONFIG) and registers version 2, and TRAIN's lineage of version 2 naming the feedback."""

import re

import pytest
from playwright.sync_api import expect

from services.improve.feedback_store import FeedbackStore
from tests.browser.conftest import choose, open_page, serve_built_store, stop_app, store_after, wait_for_app
from tests.deploy_builders import trained_model
from tests.registered_model import install_registry

pytestmark = pytest.mark.slow
MODEL_WAIT_MS = 300_000  # loading the model and its first answer on a busy 2-core machine
TRAINING_WAIT_MS = 600_000  # the retrain's export, then model load, two CPU steps, save and register
TEST_TIMEOUT_S = 1_800
CORRECTION = '{"urgency": "urgent"}'
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def served_app(tmp_path_factory, registered_chat_model):
    """Version 1 of the urgency model in the registry (the real chat model) and its recorded run
    on the invoices' Training Sheet, served."""
    home = tmp_path_factory.mktemp("feedback-loop") / "home"
    install_registry(registered_chat_model, home)
    app, _ = serve_built_store(home, lambda wb: trained_model(wb, model_name=registered_chat_model.name))
    yield app
    stop_app(app)


@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_a_thumbs_down_with_a_correction_becomes_an_approved_pair_and_the_retrained_version_names_it(served_app, page):
    app = served_app

    # DEPLOY: version 1 served locally; an item of its sheet sent from the Playground.
    open_page(page, app.page_url("deploy"), "Deploy")
    page.get_by_role("button", name="Deploy locally").wait_for()
    page.get_by_label("Endpoint name", exact=True).fill("urgency")
    page.get_by_label("Max tokens per answer", exact=True).fill("4")
    page.get_by_role("button", name="Deploy locally").click()
    page.get_by_text("urgency serves invoices_urgency_lora/1.").wait_for(timeout=MODEL_WAIT_MS)
    wait_for_app(page)
    page.get_by_text("An item of the model's sheet", exact=True).click()
    wait_for_app(page)
    choose(page, "Item", "INV-0000")
    page.get_by_role("button", name="Send", exact=True).click()
    request_caption = page.get_by_text(re.compile(r"^Request \S+ · trace .*logged to the inference log"))
    request_caption.wait_for(timeout=MODEL_WAIT_MS)
    wait_for_app(page)
    request_id = request_caption.inner_text().split()[1]

    # Thumbs down with the right answer, in the template's output schema.
    page.get_by_text("Wrong").click()
    page.get_by_label("Correction (optional): the answer it should have given", exact=True).fill(CORRECTION)
    page.get_by_role("button", name="Send feedback").click()
    page.get_by_text("Thanks: your correction on invoices_urgency_lora/1 is in IMPROVE's queue.").wait_for(timeout=60_000)

    # IMPROVE's queue: the pattern, its source item, added to the model's own Training Sheet.
    open_page(page, app.page_url("improve"), "Improve")
    grid = page.frame_locator("iframe").first
    expect(grid.locator(".ag-center-cols-container .ag-row")).to_have_count(1, timeout=90_000)
    expect(grid.locator('.ag-center-cols-container .ag-row[row-index="0"]')).to_contain_text(CORRECTION)
    grid.locator('.ag-row[row-index="0"] .ag-selection-checkbox input').first.click()
    wait_for_app(page)
    page.get_by_text("Source: item INV-0000 of its sheet").wait_for(timeout=60_000)
    page.get_by_text("An existing Training Sheet", exact=True).wait_for()  # the choice it starts on
    page.get_by_role("button", name="Add to Training Sheet").click()
    wait_for_app(page)
    page.get_by_text(re.compile(r"^1 pair\(s\) added to ")).wait_for(timeout=60_000)
    to_label = page.get_by_role("link", name="review them in LABEL").get_attribute("href") or ""
    training_sheet_id = re.search(r"training_sheet=([0-9a-f-]+)", to_label).group(1)

    # LABEL: the pair from production feedback, its draft answer the correction, approved.
    open_page(page, app.page_url("label", training_sheet=training_sheet_id), "Label")
    page.get_by_text("Filter the queue").click()
    page.get_by_text("From production feedback only", exact=True).click()
    wait_for_app(page)
    page.get_by_text(re.compile(r"From production feedback$")).first.wait_for()  # the card's badge
    page.get_by_role("button", name=re.compile("^Approve")).first.click()  # its name ends with its shortcut
    wait_for_app(page)
    page.get_by_text(re.compile(r"^Approved INV-0000 and updated its canonical label to version 2\.")).wait_for(timeout=60_000)

    # IMPROVE's Retrain: the approved pair waits; Retrain exports and trains version 2 for real.
    open_page(page, app.page_url("improve"), "Improve")
    page.get_by_role("tab", name="Retrain", exact=True).click()
    page.get_by_text("invoices_urgency_lora v1: 1 approved feedback-derived pairs waiting (from 1 feedback items)").wait_for()
    page.get_by_role("button", name="Retrain", exact=True).click()
    page.get_by_text("Retraining invoices_urgency_lora on 1 new feedback-derived pairs").wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"^Registered invoices_urgency_lora version 2 as ")).wait_for(timeout=TRAINING_WAIT_MS)
    page.get_by_text(re.compile(r"^Step 2 of 2 · loss \d")).first.wait_for()  # the recorded run's two steps, trained again
    wait_for_app(page)

    # TRAIN: version 2's lineage names the feedback it learned from.
    open_page(page, app.page_url("train", training_sheet=training_sheet_id), "Train")
    lineage_of = page.get_by_label("Model", exact=True)  # the newest model, picked
    expect(lineage_of).to_have_value(re.compile(r"^invoices_urgency_lora v2 · \d+ training pairs$"), timeout=60_000)
    learned = page.get_by_text(re.compile(rf"^Learned from 1 feedback items: {UUID}$"))
    learned.wait_for(timeout=60_000)
    feedback_id = re.search(UUID, learned.inner_text()).group(0)

    # The feedback it names is the one given under the Playground's answer.
    with store_after(app) as wb:
        feedback = FeedbackStore(wb).get(feedback_id)
    assert (feedback.request_id, feedback.correction, feedback.value) == (request_id, CORRECTION, "down")
