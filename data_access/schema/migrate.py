"""Ordered, idempotent schema migrations with a version ledger.

Migrations are files `NNN_name.sql` beside this module. Each is applied once, in order, and
recorded in `schema_migrations`; a store that is already current is left untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

from data_access.settings import Settings
from data_access.sql.engine import SqlEngine

_MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql\Z")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(script: str) -> list[str]:
    """Statements end with ';' at the end of a line; `--` comments are dropped."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";")]


@cache
def _migration_files() -> tuple[tuple[int, str, str], ...]:
    found = []
    for path in sorted(_MIGRATIONS_DIR.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), match.group(2), path.read_text(encoding="utf-8")))
    return tuple(found)


def migrations(settings: Settings) -> list[Migration]:
    names = {"catalog": settings.catalog, "schema": settings.schema}
    return [
        Migration(version, name, tuple(s.rstrip(";") for s in split_statements(Template(text).substitute(names))))
        for version, name, text in _migration_files()
    ]


def latest_version() -> int:
    return max((version for version, _, _ in _migration_files()), default=0)


def _ledger(settings: Settings) -> str:
    return settings.table("schema_migrations")


def current_version(engine: SqlEngine, settings: Settings) -> int:
    return int(engine.scalar(f"SELECT coalesce(max(version), 0) AS v FROM {_ledger(settings)}") or 0)


def applied_versions(engine: SqlEngine, settings: Settings) -> set[int]:
    return {int(row["version"]) for row in engine.query(f"SELECT version FROM {_ledger(settings)}")}


def migrate(engine: SqlEngine, settings: Settings) -> int:
    """Bring the store to the latest schema version; returns the version reached."""
    engine.execute(f"CREATE SCHEMA IF NOT EXISTS {settings.qualified_schema}")
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {_ledger(settings)} "
        "(version INT NOT NULL, name STRING NOT NULL, applied_at TIMESTAMP)"
    )
    # Every migration not yet in the ledger runs, in order: one merged after a higher-numbered
    # one (two branches adding migrations side by side) is applied too, not skipped.
    applied = applied_versions(engine, settings)
    for migration in migrations(settings):
        if migration.version in applied:
            continue
        with engine.transaction():
            engine.execute_script(migration.statements)
            engine.execute(
                f"INSERT INTO {_ledger(settings)} (version, name, applied_at) "
                "VALUES (:version, :name, current_timestamp())",
                {"version": migration.version, "name": migration.name},
            )
        applied.add(migration.version)
    return max(applied, default=0)
