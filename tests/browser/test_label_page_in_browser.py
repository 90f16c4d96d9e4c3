"""The LABEL page in headless Chromium: a reviewer works through pairs with the keyboard alone."""

import re

import pytest

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from tests.browser.conftest import open_page, start_app, stop_app, wait_for_app
from tests.review_builders import ITEMS, build_review_setup

_ITEM = re.compile(r"^INV-\d{4}$")
_PROGRESS = re.compile(rf"Progress: (\d+) / {ITEMS} labeled")


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
    page.keyboard.press(key)
    wait_for_app(page)


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
