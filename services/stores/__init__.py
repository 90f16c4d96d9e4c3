"""SQL for the workbench's own tables, one module per table; statements in Databricks SQL."""
