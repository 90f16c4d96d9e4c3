import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pandas as pd
import pytest

from data_access.sql.duckdb_engine import DuckDbEngine, StoreUnavailableError, release_home
from data_access.sql.engine import SqlError
from tests.store_holder import store_held_by_another_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(workbench):
    engine = workbench.backend.engine
    engine.execute("CREATE TABLE mirion_vital.workbench.things (id STRING NOT NULL, n INT, tags ARRAY<STRING>, CONSTRAINT things_pk PRIMARY KEY (id))")
    return engine


def test_databricks_sql_with_named_parameters_runs_on_the_embedded_store(engine):
    engine.execute("INSERT INTO mirion_vital.workbench.things VALUES (:id, :n, ARRAY('phi', 'x'))", {"id": "a", "n": 1})
    rows = engine.query(
        "SELECT id FROM mirion_vital.workbench.things WHERE array_contains(tags, :tag) AND n >= :n",
        {"tag": "phi", "n": 1, "unused": "ignored"},
    )
    assert rows == [{"id": "a"}]


def test_update_and_delete_return_the_number_of_rows_they_changed(engine):
    engine.insert_rows("mirion_vital.workbench.things", pd.DataFrame({"id": ["a", "b"], "n": [1, 2]}))
    assert engine.execute("UPDATE mirion_vital.workbench.things SET n = n + 1 WHERE n >= :n", {"n": 1}) == 2
    assert engine.execute("UPDATE mirion_vital.workbench.things SET n = 0 WHERE id = :id", {"id": "zz"}) == 0
    assert engine.execute("DELETE FROM mirion_vital.workbench.things WHERE id = :id", {"id": "a"}) == 1


def test_insert_rows_matches_columns_by_name_and_leaves_the_rest_null(engine):
    frame = pd.DataFrame({"n": [5, 6], "id": ["x", "y"]})
    assert engine.insert_rows("mirion_vital.workbench.things", frame) == 2
    rows = engine.query("SELECT id, n, tags FROM mirion_vital.workbench.things ORDER BY id")
    assert rows == [{"id": "x", "n": 5, "tags": None}, {"id": "y", "n": 6, "tags": None}]


def test_a_failed_statement_inside_a_transaction_rolls_back_the_earlier_ones(engine):
    with pytest.raises(SqlError), engine.transaction():
        engine.execute("INSERT INTO mirion_vital.workbench.things (id, n) VALUES ('a', 1)")
        engine.execute("INSERT INTO mirion_vital.workbench.things (id, n) VALUES ('a', 2)")  # duplicate key
    assert engine.scalar("SELECT count(*) FROM mirion_vital.workbench.things") == 0


def test_a_missing_parameter_is_reported_by_name(engine):
    with pytest.raises(SqlError, match="limit_rows"):
        engine.query("SELECT * FROM mirion_vital.workbench.things LIMIT :limit_rows")


def test_invalid_sql_raises_sql_error_with_the_engines_words(engine):
    with pytest.raises(SqlError, match="nope"):
        engine.query("SELECT * FROM mirion_vital.workbench.nope")


def test_threads_share_the_store_through_their_own_cursors(engine):
    engine.insert_rows("mirion_vital.workbench.things", pd.DataFrame({"id": [str(i) for i in range(100)], "n": range(100)}))
    results, errors = [], []

    def read() -> None:
        try:
            for _ in range(20):
                results.append(engine.scalar("SELECT sum(n) FROM mirion_vital.workbench.things"))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(results) == {4950}


def test_one_statement_run_by_many_threads_answers_each_with_its_own_parameters(engine):
    """A statement is parsed once and the parsed form shared: no run may see another's values."""
    engine.insert_rows("mirion_vital.workbench.things", pd.DataFrame({"id": [str(i) for i in range(50)], "n": range(50)}))
    mismatches, errors = [], []

    def look_up(start: int) -> None:
        try:
            for i in range(start, 50, 5):
                n = engine.scalar("SELECT n FROM mirion_vital.workbench.things WHERE id = :id", {"id": str(i)})
                if n != i:
                    mismatches.append((i, n))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=look_up, args=(start,)) for start in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and mismatches == []


def test_insert_rows_refuses_a_table_name_that_is_not_plain_identifiers(engine):
    with pytest.raises(SqlError, match="Not a table name"):
        engine.insert_rows('things"; DROP TABLE x; --', pd.DataFrame({"id": ["a"]}))


def test_a_store_held_by_another_process_names_that_process_and_what_to_do(tmp_path):
    home = tmp_path / "home"
    with store_held_by_another_process(home) as holder, pytest.raises(StoreUnavailableError) as error:
        DuckDbEngine(home)
    message = str(error.value)
    assert message.startswith(f"The local store at {home} is open in another process (PID {holder.pid}: ")
    assert "Stop that process, or point WORKBENCH_HOME at another folder." in message
    DuckDbEngine(home)  # once the other process is gone, the store opens
    release_home(home)


# Opens a store as an unprivileged user (dropping root after the imports, when run as root):
# prints the error message, or "opened".
_OPEN_AS_USER = (
    "import os, sys\n"
    "from pathlib import Path\n"
    "from data_access.sql.duckdb_engine import DuckDbEngine, StoreUnavailableError\n"
    "if os.geteuid() == 0:\n"
    "    os.setgid(65534); os.setuid(65534)\n"
    "try:\n"
    "    DuckDbEngine(Path(sys.argv[1])); print('opened')\n"
    "except StoreUnavailableError as error:\n"
    "    print(error)\n"
)


@pytest.mark.parametrize("existing", [False, True], ids=["empty-folder", "existing-store"])
def test_a_read_only_store_folder_says_so_and_what_to_do(existing):
    home = Path(tempfile.mkdtemp(prefix="read-only-store-"))
    try:
        if existing:
            subprocess.run([sys.executable, "-c", "import sys, duckdb; duckdb.connect(sys.argv[1] + '/workbench.duckdb').close()", str(home)], check=True)
            (home / "catalogs").mkdir()
        home.chmod(0o555)
        result = subprocess.run([sys.executable, "-c", _OPEN_AS_USER, str(home)], capture_output=True, text=True, cwd=ROOT, timeout=120)
        message = result.stdout.strip()
        assert message.startswith(f"The local store folder {home} cannot be written"), result.stdout + result.stderr
        assert message.endswith("Make it writable, or point WORKBENCH_HOME at a writable folder.")
    finally:
        home.chmod(0o755)
        shutil.rmtree(home)


def test_a_streamed_query_yields_its_rows_in_batches_while_other_statements_run_between(engine):
    engine.insert_rows("mirion_vital.workbench.things", pd.DataFrame({"id": [f"t{i:02}" for i in range(25)], "n": range(25)}))

    batches = []
    for batch in engine.stream("SELECT id, n FROM mirion_vital.workbench.things WHERE n >= :n ORDER BY n", {"n": 3}, batch_rows=10):
        batches.append(batch)
        engine.execute("UPDATE mirion_vital.workbench.things SET n = n WHERE id = :id", {"id": batch[0]["id"]})

    assert [len(b) for b in batches] == [10, 10, 2]
    assert [r["n"] for b in batches for r in b] == list(range(3, 25)) and batches[0][0] == {"id": "t03", "n": 3}


def test_a_streamed_query_that_fails_raises_the_engines_error(engine):
    with pytest.raises(SqlError):
        list(engine.stream("SELECT nope FROM mirion_vital.workbench.things"))
    with pytest.raises(SqlError):
        list(engine.stream_arrow("SELECT nope FROM mirion_vital.workbench.things"))


def test_a_query_streamed_as_arrow_yields_column_batches_while_other_statements_run_between(engine):
    engine.insert_rows("mirion_vital.workbench.things", pd.DataFrame({"id": [f"t{i:02}" for i in range(25)], "n": range(25)}))

    batches = []
    for batch in engine.stream_arrow("SELECT id, n FROM mirion_vital.workbench.things WHERE n >= :n ORDER BY n", {"n": 3}, batch_rows=10):
        batches.append(batch)
        engine.execute("UPDATE mirion_vital.workbench.things SET n = n WHERE id = :id", {"id": batch.column("id")[0].as_py()})

    assert sum(b.num_rows for b in batches) == 22 and max(b.num_rows for b in batches) <= 10
    assert [n for b in batches for n in b.column("n").to_pylist()] == list(range(3, 25)) and batches[0].column("id")[0].as_py() == "t03"
    assert list(engine.stream_arrow("SELECT id FROM mirion_vital.workbench.things WHERE n < 0")) == []
