import threading

import pandas as pd
import pytest

from data_access.sql.engine import SqlError


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


def test_insert_rows_refuses_a_table_name_that_is_not_plain_identifiers(engine):
    with pytest.raises(SqlError, match="Not a table name"):
        engine.insert_rows('things"; DROP TABLE x; --', pd.DataFrame({"id": ["a"]}))
