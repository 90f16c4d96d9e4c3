"""DEPLOY then MONITOR in headless Chromium: a registered version (the real SmolLM2 chat model)
deployed locally, a Playground request, and that request on the MONITOR page."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_page, serve_built_store, stop_app, wait_for_app
from tests.deploy_builders import trained_model
from tests.registered_model import install_registry

pytestmark = pytest.mark.slow
MODEL_WAIT_MS = 300_000  # loading the model and its first answer on a busy 2-core machine
PLOTLY_WAIT_MS = 120_000


@pytest.fixture(scope="module")
def served_app(tmp_path_factory, registered_chat_model):
    home = tmp_path_factory.mktemp("deploy-page") / "home"
    install_registry(registered_chat_model, home)
    app, _ = serve_built_store(home, lambda wb: trained_model(wb, model_name=registered_chat_model.name))
    yield app
    stop_app(app)


def test_a_person_deploys_a_version_asks_it_something_and_sees_the_request_on_monitor(served_app, page):
    open_page(page, served_app.page_url("monitor"), "Monitor")
    page.get_by_text("Nothing is logged yet.").wait_for()

    open_page(page, served_app.page_url("deploy"), "Deploy")
    page.get_by_role("button", name="Deploy locally").wait_for()
    page.get_by_label("Endpoint name", exact=True).fill("urgency")
    page.get_by_label("Max tokens per answer", exact=True).fill("8")
    page.get_by_role("button", name="Deploy locally").click()
    page.get_by_text("urgency serves invoices_urgency_lora/1.").wait_for(timeout=MODEL_WAIT_MS)
    wait_for_app(page)

    page.get_by_label("Prompt", exact=True).fill("Invoice INV-0042 for 420.00. Urgent or routine?")
    page.get_by_label("Max tokens", exact=True).fill("4")
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_text("logged to the inference log").wait_for(timeout=MODEL_WAIT_MS)
    assert "ms" in page.get_by_test_id("stMetricValue").first.inner_text()

    # The writer appends within a quarter second of the answer: long before MONITOR has loaded.
    open_page(page, served_app.page_url("monitor", endpoint="urgency"), "Monitor")
    requests = page.get_by_test_id("stMetric").filter(has_text="Requests")
    assert requests.get_by_test_id("stMetricValue").inner_text() == "1"
    assert page.get_by_test_id("stMetric").filter(has_text="Error rate").get_by_test_id("stMetricValue").inner_text() == "0.0%"
    # Streamlit loads Plotly lazily: the charts draw after the script run has finished, and
    # parsing Plotly's bundle took over 30 s on a loaded 2-core machine.
    for chart in ("requests", "latency", "errors"):
        expect(page.locator(f".st-key-monitor_traffic_{chart} .js-plotly-plot")).to_have_count(1, timeout=PLOTLY_WAIT_MS)
    # The request was a free prompt, not a sheet item: its answer is unknown, so no accuracy is claimed.
    page.get_by_role("tab", name="Predictions", exact=True).click()
    page.get_by_text("No accuracy yet").wait_for()
