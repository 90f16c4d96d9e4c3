"""The workbench's own tables: DDL in Databricks SQL, applied as ordered migrations."""
