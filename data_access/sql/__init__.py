"""SQL engines: Databricks SQL written once, run on a warehouse or on embedded DuckDB."""

from data_access.sql.engine import Row, SqlEngine, SqlError, WriteConflictError

__all__ = ["Row", "SqlEngine", "SqlError", "WriteConflictError"]
