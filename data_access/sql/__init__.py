"""SQL engines: Databricks SQL written once, run on a warehouse or on embedded DuckDB."""

from data_access.sql.engine import Row, SqlEngine, SqlError

__all__ = ["Row", "SqlEngine", "SqlError"]
