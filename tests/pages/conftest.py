"""Pages run through AppTest against the test's own store, chosen by environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE_TIMEOUT_S = 60  # a cold first run imports pandas, pymupdf and sqlglot


@pytest.fixture
def app_env(settings, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(settings.home))
    monkeypatch.setenv("WORKBENCH_DEMO_DATA", "0")
    monkeypatch.setenv("WORKBENCH_DEMO_TRAINING", "off")  # a page test never starts the demo's background run
    monkeypatch.setenv("WORKBENCH_USER", "tester@example.com")
    monkeypatch.delenv("WORKBENCH_BACKEND", raising=False)
    monkeypatch.delenv("DATABRICKS_WAREHOUSE_ID", raising=False)
    return settings


@pytest.fixture
def open_page(app_env):
    def _open(page: str, query: dict[str, str] | None = None) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=PAGE_TIMEOUT_S)
        for key, value in (query or {}).items():
            app.query_params[key] = value
        app.run()
        app.switch_page(page)
        app.run()
        return app

    return _open
