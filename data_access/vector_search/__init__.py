"""Vector indexes over the example store: DuckDB locally, Databricks Vector Search on a workspace."""
