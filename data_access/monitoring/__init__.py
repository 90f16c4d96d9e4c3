"""Monitoring services of the platform: Databricks data quality monitors."""
