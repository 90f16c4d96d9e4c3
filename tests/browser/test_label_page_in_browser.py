"""The LABEL page in headless Chromium: a reviewer works through pairs with the keyboard alone, edits
one through the schema form, and sees the card's actions on a 1440×900 screen without scrolling."""

import re

import pytest

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from tests.browser.conftest import open_page, press_shortcut, start_app, stop_app, wait_for_app
from tests.review_builders import ITEMS, build_review_setup

_ITEM = re.compile(r"^INV-\d{4}$")
_PROGRESS = re.compile(rf"Progress: (\d+) / {ITEMS} labeled")
LAPTOP = (1440, 900)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("label-page") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0"})
    forget_prepared_stores()
    setup = build_review_setup(open_workbench(settings))
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app, setup
    stop_app(app)


def _open(page, served):
    app, setup = served
    open_page(page, app.page_url("label", training_sheet=setup.training_sheet.id), "Label")


def _item(page) -> str:
    return page.locator('[data-testid="stMarkdownContainer"] strong').filter(has_text=_ITEM).first.inner_text()


def _labeled(page) -> int:
    text = page.get_by_text(_PROGRESS).first.inner_text()
    return int(_PROGRESS.search(text).group(1))


def _press(page, key: str) -> None:
    press_shortcut(page, key)


def test_a_reviewer_approves_five_pairs_with_the_keyboard_alone(served, page):
    _open(page, served)
    labeled = _labeled(page)
    assert page.get_by_role("button", name=re.compile("^Approve")).first.inner_text().replace("\n", " ").endswith("A")
    seen = []
    for _ in range(5):
        item = _item(page)
        seen.append(item)
        _press(page, "a")
        page.get_by_text(f"Approved {item} and created its canonical label.").wait_for()
    assert seen == sorted(set(seen))  # five different pairs, in queue order
    assert _labeled(page) == labeled + 5
    assert _item(page) not in seen


def test_undo_takes_back_an_approval(served, page):
    _open(page, served)
    labeled, item = _labeled(page), _item(page)
    _press(page, "a")
    page.get_by_text(f"Approved {item} and created its canonical label.").wait_for()
    assert _labeled(page) == labeled + 1
    _press(page, "u")
    page.get_by_text(f"Undone: {item} is unlabeled again.").wait_for()
    assert _labeled(page) == labeled
    assert _item(page) == item


@pytest.fixture
def laptop_page(browser):
    """A 1440×900 window: a laptop screen, where a reviewer works without scrolling."""
    context = browser.new_context(viewport={"width": LAPTOP[0], "height": LAPTOP[1]})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def test_at_1440_by_900_the_review_actions_are_in_view_without_scrolling(served, laptop_page):
    page = laptop_page
    _open(page, served)
    approve = page.get_by_role("button", name=re.compile("^Approve")).first
    approve.wait_for()
    box = approve.bounding_box()
    assert page.evaluate("() => window.scrollY") == 0
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= LAPTOP[1], box
    for name in ("Save edit & approve", "Reject", "Flag"):
        other = page.get_by_role("button", name=re.compile(f"^{re.escape(name)}")).first.bounding_box()
        assert other is not None and other["y"] + other["height"] <= LAPTOP[1], (name, other)


def test_a_reviewer_edits_a_pair_through_the_form_and_approves_the_edit(served, page):
    _open(page, served)
    item = _item(page)
    page.get_by_role("radiogroup", name="Urgency").get_by_text("urgent", exact=True).click()
    wait_for_app(page)
    page.get_by_text("Changes against the model's original response").wait_for()
    page.get_by_role("button", name=re.compile("^Save edit & approve")).click()
    wait_for_app(page)
    page.get_by_text(f"Edited and approved {item} and created its canonical label.").wait_for()
    _press(page, "u")  # leave the shared Training Sheet as it was for the other tests
    page.get_by_text(f"Undone: {item} is unlabeled again.").wait_for()
