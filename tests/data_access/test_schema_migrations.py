from data_access.schema.migrate import applied_versions, current_version, latest_version, migrate, migrations
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import DuckDbEngine, release_home

DESIGN_TABLES = {
    "sheets", "templates", "canonical_labels", "canonical_label_versions", "training_sheets", "qa_pairs",
    "usage_constraint_audit", "review_events", "example_store", "model_training_lineage", "dspy_runs",
    "job_runs", "deployments", "inference_log", "feedback", "alerts",
}


def _tables(engine, catalog, schema):
    rows = engine.raw("SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ?", [catalog, schema])
    return {r[0] for r in rows}


def test_migrating_an_empty_store_creates_every_table_of_the_data_model(workbench):
    tables = _tables(workbench.backend.engine, "mirion_vital", "workbench")
    assert tables >= DESIGN_TABLES
    assert current_version(workbench.backend.engine, workbench.settings) == latest_version()


def test_migrating_twice_changes_nothing(workbench):
    engine, settings = workbench.backend.engine, workbench.settings
    engine.execute("INSERT INTO mirion_vital.workbench.alerts (id, message) VALUES ('a1', 'kept')")
    assert migrate(engine, settings) == latest_version()
    assert engine.scalar("SELECT count(*) FROM mirion_vital.workbench.schema_migrations") == len(migrations(settings))
    assert engine.scalar("SELECT message FROM mirion_vital.workbench.alerts") == "kept"


def test_catalog_and_schema_names_come_from_settings(tmp_path):
    settings = load_settings({"WORKBENCH_HOME": str(tmp_path), "WORKBENCH_CATALOG": "acme", "WORKBENCH_SCHEMA": "curation"})
    engine = DuckDbEngine(settings.home)
    try:
        engine.ensure_catalog("acme")
        migrate(engine, settings)
        assert _tables(engine, "acme", "curation") >= DESIGN_TABLES
    finally:
        release_home(settings.home)


def test_every_mutable_table_carries_a_row_version_for_stale_write_checks(workbench):
    rows = workbench.backend.engine.raw(
        "SELECT table_name FROM information_schema.columns WHERE table_catalog = 'mirion_vital' "
        "AND table_schema = 'workbench' AND column_name = 'row_version'"
    )
    assert {"sheets", "templates", "training_sheets", "qa_pairs", "deployments"} <= {r[0] for r in rows}


def test_a_migration_merged_below_one_already_applied_still_runs(workbench):
    engine, settings = workbench.backend.engine, workbench.settings
    ledger = settings.table("schema_migrations")
    engine.execute(f"DELETE FROM {ledger} WHERE version = 2")
    for column in ("cancelled_by", "resumed_by", "resumed_at"):  # what migration 2 adds
        engine.execute(f"ALTER TABLE {settings.table('job_runs')} DROP COLUMN {column}")

    migrate(engine, settings)

    assert 2 in applied_versions(engine, settings)
    assert "cancelled_by" in {c.lower() for c in engine.query_df(f"SELECT * FROM {settings.table('job_runs')} LIMIT 0").columns}
