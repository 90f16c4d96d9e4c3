"""GENERATE in headless Chromium: write a template (its output schema typed into the grid),
publish it, and generate a Training Sheet from it while the progress bar runs to the end."""

import re

import pytest
from playwright.sync_api import expect

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.workbench import forget_prepared_stores, open_workbench
from services.labels.canonical_labels import CanonicalLabelService
from tests.browser.conftest import choose, open_page, start_app, stop_app, wait_for_app
from tests.labeling_builders import invoice_sheet

ITEMS = 6
LABELED_ITEM = "INV-0003"
TEMPLATE = "Invoice urgency"
JOB_TIMEOUT_MS = 45_000  # six manual pairs take a second or two; the margin is for a loaded machine
# In grid pixels: past the 30 px row-marker column, inside the Field column, and in the first
# row below the 35 px header (Streamlit's fixed row height).
FIRST_ROW_FIELD_CELL = {"x": 100, "y": 35 + 35 // 2}
_PROGRESS = re.compile(rf"^\d+ of {ITEMS} items · ")  # the bar, whatever the job's status
_PROGRESS_DONE = re.compile(rf"^{ITEMS} of {ITEMS} items · succeeded$")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A six-item invoice sheet with one canonical classification label, then served."""
    home = tmp_path_factory.mktemp("generate-page") / "home"
    forget_prepared_stores()
    wb = open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0"}))
    sheet = invoice_sheet(wb, sample_size=ITEMS)
    CanonicalLabelService(wb).save(LabelKey(sheet.id, LABELED_ITEM, "classification"), LabelContent({"urgency": "urgent"}), 0)
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app, sheet
    stop_app(app)


def _type_output_field(page, name: str) -> None:
    """Add a row to the Output schema grid and type the field's name into its Field cell.

    The grid is glide-data-grid drawn on a canvas, so a cell is reached by its position: the
    toolbar's "Add row" appends a row (Type and Required take their defaults), a double click
    on its Field cell opens the cell editor (a text area in the `portal` layer), and Enter
    writes the value back. Streamlit's own e2e tests edit cells the same way.
    """
    grid = page.locator(".st-key-new_template_output_schema").get_by_test_id("stDataFrame")
    grid.hover()
    # The hidden toolbar sits over the grid's top edge and slides up once the grid is hovered;
    # a click aimed before it has arrived lands on the grid. Streamlit's own tests wait so too.
    expect(grid.get_by_test_id("stElementToolbar")).to_have_css("opacity", "1")
    grid.get_by_role("button", name="Add row").click()
    wait_for_app(page)
    grid.dblclick(position=FIRST_ROW_FIELD_CELL)
    editor = page.get_by_test_id("portal").locator(".gdg-clip-region .gdg-input")
    editor.fill(name)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")  # Enter moved the selection on; leave the grid
    wait_for_app(page)


def test_a_person_publishes_a_template_and_generates_a_training_sheet_to_the_end(served, page):
    app, sheet = served
    open_page(page, app.page_url("templates"), "Prompt Templates")
    page.get_by_label("Name", exact=True).fill(TEMPLATE)
    prompt = page.get_by_label("User prompt", exact=True)
    prompt.fill("Invoice {{ invoice_id }} from {{ provider_name }}: how urgent is it?")
    prompt.press("ControlOrMeta+Enter")  # how a text area sends its value without leaving it
    wait_for_app(page)
    page.get_by_text("Placeholders: invoice_id, provider_name").wait_for()
    _type_output_field(page, "urgency")
    page.get_by_role("button", name="Create draft").click()
    wait_for_app(page)
    page.get_by_text(f"Created {TEMPLATE} v1.0.0 as a draft.").wait_for()

    page.get_by_role("button", name="Publish").click()
    wait_for_app(page)
    # Publishing refuses a template without output fields: this is the grid's row arriving too.
    page.get_by_text(f"{TEMPLATE} v1.0.0 is now published.").wait_for()

    open_page(page, app.page_url("generate"), "Generate")
    choose(page, "Sheet", f"{sheet.name} · {ITEMS} items")
    wait_for_app(page)
    choose(page, "Published template", f"{TEMPLATE} v1.0.0 · classification")
    wait_for_app(page)
    page.get_by_text("Manual (empty responses for an expert to write)").click()
    wait_for_app(page)
    page.get_by_role("button", name="Generate Training Sheet").click()

    page.get_by_text(_PROGRESS).wait_for()
    page.get_by_text(_PROGRESS_DONE).wait_for(timeout=JOB_TIMEOUT_MS)
    assert page.get_by_role("progressbar").first.get_attribute("aria-valuenow") == "100"
    counts = page.get_by_text(f"{ITEMS} pairs · 1 labeled (1 pre-approved)")
    counts.wait_for()
    assert f"{ITEMS - 1} unlabeled" in counts.inner_text()
    page.get_by_text(f"1 of {ITEMS} pre-approved from canonical labels").wait_for()
    page.get_by_text("Every pre-approved pair (1)").wait_for()
