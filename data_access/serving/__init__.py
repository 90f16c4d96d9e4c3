"""Serving registered models: the seam a served endpoint answers through, Databricks Model Serving endpoints and the edge bundle's offline server."""
