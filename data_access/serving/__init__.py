"""Serving registered models: Databricks Model Serving endpoints and the edge bundle's offline server."""
