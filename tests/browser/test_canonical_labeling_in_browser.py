"""The Canonical Labeling Tool in headless Chromium on the demo store: draw a bounding box with
the mouse, give it a class, save it, see it again; move on with the keyboard."""

import re

import pytest
from playwright.sync_api import expect

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores
from services.data.sheets import SheetService
from services.demo import open_demo_ready_workbench
from services.demo.sheets import CRYSTALS_SHEET
from services.labels.labeling_session import BrowseFilter, LabelingSession, StatusFilter
from tests.browser.conftest import open_page, press_shortcut, start_app, stop_app, wait_for_app

IMAGE_PIXELS = 384  # the demo's crystal images are square


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo store, generated in-process first (to know its ids), then served."""
    home = tmp_path_factory.mktemp("canonical-labels") / "home"
    forget_prepared_stores()
    wb = open_demo_ready_workbench(load_settings({"WORKBENCH_HOME": str(home)}))
    sheet = next(s for s in SheetService(wb).list() if s.name == CRYSTALS_SHEET)
    unlabeled = LabelingSession(wb, sheet, "localization").page(BrowseFilter(StatusFilter.UNLABELED), 0, 3).items
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    app = start_app(home)
    yield app, sheet.id, [i.item_ref for i in unlabeled]
    stop_app(app)


def _open_item(page, app, sheet_id, item_ref, label_type="localization"):
    open_page(page, app.page_url("canonical-labels", sheet=sheet_id, label_type=label_type, item=item_ref), "Canonical Labeling Tool")
    page.get_by_text(item_ref, exact=True).first.wait_for()


def test_a_box_drawn_with_the_mouse_is_saved_with_its_class_in_image_pixels(demo, page):
    app, sheet_id, (first, second, _) = demo
    _open_item(page, app, sheet_id, first)
    stage = page.get_by_test_id("box-drawer-stage")
    image = stage.locator("img")
    image.wait_for()
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=image.element_handle())
    shown = image.bounding_box()
    scale = IMAGE_PIXELS / shown["width"]

    page.mouse.move(shown["x"] + 100, shown["y"] + 80)
    page.mouse.down()
    page.mouse.move(shown["x"] + 180, shown["y"] + 130, steps=8)
    page.mouse.up()
    wait_for_app(page)
    rows = page.get_by_test_id("box-drawer-row")
    expect(rows).to_have_count(1)
    rows.first.get_by_label("Class of box 1", exact=True).select_option("inclusion")
    wait_for_app(page)
    page.get_by_text("1 box(es)").wait_for()

    coordinates = rows.first.locator(".vbd-coords").inner_text()
    x_min, x_max, y_min, y_max = map(int, re.findall(r"\d+", coordinates))
    assert abs(x_min - 100 * scale) <= 1.5 and abs(x_max - 180 * scale) <= 1.5
    assert abs(y_min - 80 * scale) <= 1.5 and abs(y_max - 130 * scale) <= 1.5

    page.get_by_role("button", name="Save label").click()
    wait_for_app(page)
    page.get_by_text(f"Saved the localization label of {first} (version 1).").wait_for()
    assert f"item={second}" in page.url  # on to the next unlabeled image

    _open_item(page, app, sheet_id, first)
    page.get_by_text("localization v1 by expert@mirion.example").wait_for()
    boxes = page.get_by_test_id("box-drawer-box")
    boxes.first.wait_for()
    expect(boxes).to_have_count(1)
    assert boxes.first.inner_text() == "1 inclusion"
    assert '"inclusion"' in page.get_by_test_id("stJson").first.inner_text()


def test_the_next_shortcut_moves_to_the_next_item(demo, page):
    app, sheet_id, (_, second, third) = demo
    _open_item(page, app, sheet_id, second)
    page.get_by_role("heading", name="Canonical Labeling Tool").click()  # focus on the page, not in a field
    press_shortcut(page, "Alt+n")
    page.wait_for_url(re.compile(f"item={third}"))
    page.get_by_text(third, exact=True).first.wait_for()
