"""The first start on an empty local store: the demo data is built with its steps on the page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from services.demo import seed_steps
from tests.pages.conftest import APP

SEED_TIMEOUT_S = 600  # the whole demo, on a busy 2-core machine


def test_an_empty_store_shows_each_seed_step_with_its_time_then_the_page(app_env, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_DEMO_DATA", "1")
    app = AppTest.from_file(APP, default_timeout=SEED_TIMEOUT_S)
    app.run()

    assert not app.exception
    status = app.status[0]
    assert status.label.startswith("Demo data ready in ")
    lines = [m.value for m in status.markdown]
    assert len(lines) == len(seed_steps())
    for step, line in zip(seed_steps(), lines, strict=True):
        assert step.name.replace("_", " ") in line.lower() and line.endswith(" s)")
    assert any("invoices" in line and any(c.isdigit() for c in line) for line in lines)

    app.run()  # the next run finds the data there: no status again
    assert not app.status
