"""DEPLOY: serve a registered model version as a local endpoint (guardrails, inference log), on Databricks Model Serving, or offline at the edge."""
