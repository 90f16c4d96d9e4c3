"""The demo guide's 15-minute flow in headless Chromium on a fresh demo store, from DATA to the
wow moment, with every request the page makes recorded: nothing may leave this machine.

DATA: select the crystals sheet and see its details → GENERATE: a Training Sheet from the defect
template → LABEL: approve a pair → Canonical Labeling Tool: label another item → GENERATE again:
both items come back pre-approved.
"""

import re
from urllib.parse import urlsplit

import pytest

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from services.data.sheets import SheetService
from services.demo import open_demo_ready_workbench
from services.demo.sheets import CRYSTALS_SHEET
from services.generate.generation import GenerationService
from services.generate.reuse_report import ReuseReport
from services.labels.labeling_session import BrowseFilter, LabelingSession, StatusFilter
from tests.browser.conftest import choose, open_page, start_app, stop_app, wait_for_app

TEMPLATE = "Defect Classification - Visual Inspection v1.0.0 · classification"
LOOPBACK = {"127.0.0.1", "localhost"}
JOB_TIMEOUT_MS = 300_000  # the offline drafter over 150 images on a busy 2-core machine
ROW_MARKER_X = 15  # the sheet list's row-selection checkbox column, in grid pixels
ROW_HEIGHT = 35  # Streamlit's fixed grid row (and header) height
FLOW_TIMEOUT_S = 1200  # two generations over 150 items and five pages, on a busy 2-core machine
_ITEM = re.compile(r"^INSP-\d{4}$")
_PRE_APPROVED = re.compile(r"(\d[\d,]*) pre-approved")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A fresh store with the demo data built first, as `make run` does, then served."""
    home = tmp_path_factory.mktemp("demo-flow") / "home"
    forget_prepared_stores()
    wb = open_demo_ready_workbench(load_settings({"WORKBENCH_HOME": str(home)}))
    sheets = SheetService(wb).list()
    crystals = next(s for s in sheets if s.name == CRYSTALS_SHEET)
    unlabeled = LabelingSession(wb, crystals, "classification").page(BrowseFilter(StatusFilter.UNLABELED), 0, 3).items
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    app = start_app(home)
    yield app, [s.id for s in sheets].index(crystals.id), crystals, [i.item_ref for i in unlabeled]
    stop_app(app)


def _generate(page, app, crystals) -> int:
    """Generate a Training Sheet from the defect template; returns its pre-approved count."""
    open_page(page, app.page_url("generate"), "Generate")
    choose(page, "Sheet", f"{crystals.name} · {crystals.row_count} items")
    wait_for_app(page)
    choose(page, "Published template", TEMPLATE)
    wait_for_app(page)
    page.get_by_role("button", name="Generate Training Sheet").click()
    done = re.compile(rf"^{crystals.row_count} of {crystals.row_count} items · succeeded$")
    page.get_by_text(done).wait_for(timeout=JOB_TIMEOUT_MS)
    # The progress bar is a fragment; the page's counts are read on a fresh run of the page.
    open_page(page, page.url, "Generate")
    summary = page.get_by_text(_PRE_APPROVED).first
    return int(_PRE_APPROVED.search(summary.inner_text()).group(1).replace(",", ""))


def test_a_deep_link_loads_without_404s(demo, page):
    """Runs first: the flow below ends by stopping the server to read the store."""
    app, _, crystals, _ = demo
    failed: list[tuple[int, str]] = []
    page.on("response", lambda response: failed.append((response.status, response.url)) if response.status >= 400 else None)
    open_page(page, app.page_url("data", sheet=crystals.id), "Data")
    page.get_by_role("heading", name=CRYSTALS_SHEET).wait_for()
    assert failed == []


@pytest.mark.timeout(FLOW_TIMEOUT_S)
def test_the_fifteen_minute_flow_reaches_the_wow_moment_without_leaving_the_machine(demo, page):
    app, crystals_row, crystals, unlabeled = demo
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    # DATA: select the crystals sheet in the list and see what it is.
    open_page(page, app.page_url("data"), "Data")
    grid = page.get_by_test_id("stDataFrame").first
    grid.click(position={"x": ROW_MARKER_X, "y": ROW_HEIGHT + crystals_row * ROW_HEIGHT + ROW_HEIGHT // 2})
    wait_for_app(page)
    page.get_by_role("heading", name=CRYSTALS_SHEET).wait_for()
    page.get_by_test_id("stTable").first.get_by_text("/Volumes/mirion_vital/raw/crystal_images").wait_for()
    page.get_by_text("View in Unity Catalog").first.wait_for()

    # GENERATE a Training Sheet from the defect template.
    before = _generate(page, app, crystals)

    # LABEL: approve a pair; its item gets a canonical label.
    page.get_by_role("link", name="Review this Training Sheet").click()
    page.get_by_role("heading", name="Label").first.wait_for()
    wait_for_app(page)
    item = page.locator('[data-testid="stMarkdownContainer"] strong').filter(has_text=_ITEM).first
    approved = item.inner_text()
    page.get_by_role("button", name=re.compile("^Approve")).first.click()
    wait_for_app(page)
    page.get_by_text(re.compile(rf"Approved {approved}\b")).first.wait_for()

    # Canonical Labeling Tool: label another item directly.
    labeled = next(ref for ref in unlabeled if ref != approved)
    open_page(page, app.page_url("canonical-labels", sheet=crystals.id, label_type="classification", item=labeled),
              "Canonical Labeling Tool")
    form = page.get_by_test_id("stForm")
    choose(page, "Defect type *", "crack")
    form.get_by_text("minor", exact=True).click()
    page.get_by_role("button", name="Save label").click()
    wait_for_app(page)
    page.get_by_text(re.compile(rf"Saved the classification label of {labeled}\b")).wait_for()

    # GENERATE again: both items arrive pre-approved.
    after = _generate(page, app, crystals)
    assert after == before + 2

    foreign = sorted({url for url in requests if urlsplit(url).scheme in ("http", "https", "ws", "wss")
                      and urlsplit(url).hostname not in LOOPBACK})
    assert requests and not foreign, f"requests left the machine: {foreign}"

    stop_app(app)  # the store's lock, to read which pairs were pre-approved
    forget_prepared_stores()
    wb = open_workbench(load_settings({"WORKBENCH_HOME": str(app.home), "WORKBENCH_DEMO_DATA": "0"}))
    newest = GenerationService(wb).list(crystals.id)[0]
    assert {approved, labeled} <= {p.item_ref for p in ReuseReport(wb).pre_approved(newest.id, n=crystals.row_count)}
    forget_prepared_stores()
    release_home(app.home)
