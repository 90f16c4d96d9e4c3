"""Browser tests: the real app served by `streamlit run` on a free loopback port, driven by
Playwright in Debian's headless Chromium. Each test module gets its own store and server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
from playwright.sync_api import expect

if TYPE_CHECKING:
    from services.core.workbench import Workbench

REPO = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 90
RERUN_START_GRACE_MS = 250  # a widget change reaches the server and starts a rerun well within this  # a cold start on a 2-core CI machine, demo data included
# Flags the workplace needs: no sandbox as root, and no background traffic to hosts that
# this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServedApp:
    url: str
    home: Path
    process: subprocess.Popen
    log: Path

    def page_url(self, url_path: str, **query: str) -> str:
        suffix = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.url}/{url_path}" + (f"?{suffix}" if suffix else "")


def start_app(home: Path, extra_env: dict[str, str] | None = None) -> ServedApp:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "WORKBENCH_"))}
    # The demo model's background training is off unless a test asks for it: it would load the CPU for minutes.
    env.update({"WORKBENCH_HOME": str(home), "WORKBENCH_USER": "expert@mirion.example", "WORKBENCH_DEMO_TRAINING": "off", **(extra_env or {})})
    log = home.parent / f"server-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "serve.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The app exited during start-up:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return ServedApp(url, home, process, log)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"The app did not answer within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def stop_app(app: ServedApp) -> None:
    app.process.terminate()
    try:
        app.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait()


Built = TypeVar("Built")


def serve_built_store(home: Path, build: Callable[[Workbench], Built]) -> tuple[ServedApp, Built]:
    """A fresh store without demo data at `home`, built through the services by `build(workbench)`,
    then served (the server process takes the store's lock from this one)."""
    from data_access.settings import load_settings
    from data_access.sql.duckdb_engine import release_home
    from services.core.workbench import forget_prepared_stores, open_workbench

    forget_prepared_stores()
    built = build(open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0"})))
    forget_prepared_stores()
    release_home(home)
    return start_app(home, {"WORKBENCH_DEMO_DATA": "0"}), built


@contextmanager
def store_after(app: ServedApp) -> Iterator[Workbench]:
    """The served store opened here once its server has stopped (it holds the store's lock), to
    read what the browser wrote through the services; released again afterwards."""
    from data_access.settings import load_settings
    from data_access.sql.duckdb_engine import release_home
    from services.core.workbench import forget_prepared_stores, open_workbench

    stop_app(app)
    forget_prepared_stores()
    try:
        yield open_workbench(load_settings({"WORKBENCH_HOME": str(app.home), "WORKBENCH_DEMO_DATA": "0"}))
    finally:
        forget_prepared_stores()
        release_home(app.home)


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian chromium is not installed; `make test` installs it (apt-get install chromium).")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


ARTIFACTS = REPO / "test-artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "page" in item.fixturenames:
        ARTIFACTS.mkdir(exist_ok=True)
        item.funcargs["page"].screenshot(path=str(ARTIFACTS / f"{item.name}.png"), full_page=True)


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)  # the same patience for retrying assertions on a busy machine
    yield page
    context.close()


@pytest.fixture(scope="module")
def served_demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The app on a fresh store with the demo data, as `make run` starts it."""
    app = start_app(tmp_path_factory.mktemp("browser") / "home")
    yield app
    stop_app(app)


# A page can rerun more than once after an action (a widget callback, then st.rerun), so
# "done" means the script has been idle for a moment, not just idle once.
_IDLE_FOR_A_MOMENT = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') { window.__idleSince = null; return false; }
  window.__idleSince = window.__idleSince || performance.now();
  return performance.now() - window.__idleSince > 400;
}"""


def wait_for_app(page: object) -> None:
    """Wait until Streamlit has finished the run an action started.

    The app root carries `data-test-script-state` (Streamlit's own e2e tests read it); a
    short pause first lets a just-triggered rerun begin before we wait for it to end.
    """
    page.wait_for_timeout(RERUN_START_GRACE_MS)
    page.wait_for_function(_IDLE_FOR_A_MOMENT, polling=100, timeout=60_000)


# Streamlit binds a button's shortcut in the browser after the button renders, and rebinds it
# on every render, so on a busy machine a key can arrive while no handler is bound. A handler
# that takes the key calls preventDefault(); a listener on window (it runs after the
# document-level handlers) records whether one did.
_RECORD_SHORTCUTS = """() => {
  window.__shortcutTaken = null;
  if (window.__shortcutRecorder) return;
  window.__shortcutRecorder = e => { if (e.altKey || e.ctrlKey || e.metaKey || e.key.length === 1) window.__shortcutTaken = e.defaultPrevented; };
  window.addEventListener('keydown', window.__shortcutRecorder);
}"""
SHORTCUT_ATTEMPTS = 5


def press_shortcut(page: object, keys: str) -> None:
    """Press a Streamlit shortcut and wait for the run it starts; press again only when no
    handler took the key (so a shortcut never fires twice)."""
    for _ in range(SHORTCUT_ATTEMPTS):
        page.evaluate(_RECORD_SHORTCUTS)
        page.keyboard.press(keys)
        taken = page.evaluate("() => window.__shortcutTaken")
        wait_for_app(page)
        if taken:
            return
    pytest.fail(f"No shortcut handler took {keys} in {SHORTCUT_ATTEMPTS} presses")


def open_page(page: object, url: str, heading: str) -> None:
    """Load a page and wait for its first run to finish (its title shown, the script idle)."""
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    wait_for_app(page)


# Streamlit opens an expander by setting `open` and animating the details' height (an inline
# height while it grows, cleared at the end); a widget inside clicked meanwhile can take the
# focus without acting (a selectbox's menu stays shut).
_EXPANDER_OPEN = "details => details.open && !details.style.height && details.getAnimations().length === 0"


def open_expander(scope: object, title: str) -> None:
    """Open the expander titled `title` inside `scope` (a page or a locator), and wait until it
    has finished opening."""
    summary = scope.locator("summary").filter(has_text=title).first
    summary.click()
    details = summary.locator("xpath=..")
    details.page.wait_for_function(_EXPANDER_OPEN, arg=details.element_handle(), polling="raf", timeout=60_000)


def choose(page: object, label: str, option: str) -> None:
    """Pick an option in a Streamlit selectbox or multiselect by its label."""
    page.get_by_label(label, exact=True).first.click()
    page.get_by_role("option", name=option, exact=True).click()


