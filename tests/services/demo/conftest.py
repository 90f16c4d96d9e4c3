"""One demo store for the demo modules that only add to it (building it takes a minute on a busy
2-core machine); test_demo_data.py, which resets it, builds its own."""

from collections.abc import Iterator

import pytest

from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import Workbench, forget_prepared_stores
from services.demo import open_demo_ready_workbench


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    home = tmp_path_factory.mktemp("demo-store") / "home"
    forget_prepared_stores()
    yield open_demo_ready_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_USER": "demo.expert@example.com"}))
    forget_prepared_stores()
    release_home(home)
