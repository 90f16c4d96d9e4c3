"""Issue 12's browser flow in headless Chromium: upload examples to the Example Store, search them,
optimize a Training Sheet's template on the DSPy Optimizer page (BootstrapFewShot, a scripted
model behind the loopback OpenAI-compatible fake) and accept the result as a new template version."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from tests.browser.conftest import ServedApp, open_page, start_app, stop_app, wait_for_app
from tests.dspy_builders import TASK_FIELDS, provider_kind, provider_training_sheet
from tests.fakes.chat_server import ChatScript, FakeChatServer
from tests.fakes.dspy_answers import dspy_answerer

RUN_TIMEOUT_MS = 240_000  # the app's first MLflow store and dspy import, then the run, on a busy 2-core machine
EXAMPLES_CSV = (
    b"input,expected_output,function_name,domain\n"
    b'Invoice INV-7001 from City Medical Center.,"{""kind"": ""hospital""}",classification,finance\n'
    b'Invoice INV-7002 from Lakeside Clinic.,"{""kind"": ""clinic""}",classification,finance\n'
)


@pytest.fixture(scope="module")
def served_app(tmp_path_factory) -> Iterator[ServedApp]:
    home = tmp_path_factory.mktemp("examples-to-optimizer") / "home"
    forget_prepared_stores()
    provider_training_sheet(open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0"})), pairs=12)
    forget_prepared_stores()
    release_home(home)  # the server process takes the store's lock
    with FakeChatServer(ChatScript(answer=dspy_answerer(provider_kind, TASK_FIELDS))) as model:
        app = start_app(home, {"WORKBENCH_DEMO_DATA": "0", "WORKBENCH_LLM_BASE_URL": model.base_url, "WORKBENCH_LLM_MODEL": "scripted"})
        yield app
        stop_app(app)


def test_upload_search_optimize_and_accept(served_app, page):
    open_page(page, served_app.page_url("example-store"), "Example Store")
    page.get_by_role("tab", name="Add or upload").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "examples.csv", "mimeType": "text/csv", "buffer": EXAMPLES_CSV}])
    page.get_by_role("button", name="Add the file's examples").click()
    wait_for_app(page)
    page.get_by_text("Added 2 example(s).").wait_for()

    page.get_by_role("tab", name="Search").click()
    page.get_by_label("Query", exact=True).fill("a bill from a hospital")
    page.get_by_label("Query", exact=True).press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Search", exact=True).click()
    wait_for_app(page)
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    assert page.get_by_text("No example passes the filters").count() == 0

    open_page(page, served_app.page_url("dspy-optimizer"), "DSPy Optimizer")
    page.get_by_text("Model: ").first.wait_for()
    page.get_by_role("button", name="Optimize").click()
    wait_for_app(page)
    page.locator('[data-testid="stProgress"]').first.wait_for()  # the run was launched: its progress shows
    accept = page.get_by_role("button", name="Accept as a new template version")
    try:
        accept.wait_for(timeout=RUN_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        # A run that never ends here ended once in CI with nothing in the server log: say what the page showed.
        raise AssertionError(f"No Accept after {RUN_TIMEOUT_MS / 1000:.0f} s; the page showed:\n{page.locator('main').inner_text()}") from None
    wait_for_app(page)
    accept.click()
    wait_for_app(page)
    page.get_by_text("is a new draft with the optimized instructions and demos").wait_for()
