"""Experiment tracking and the model registry: MLflow, locally on a sqlite store, on Databricks in the workspace."""
