"""Every TRAIN service test starts from an empty MLflow store (copied, see tests/mlflow_store.py)."""

from tests.mlflow_store import empty_mlflow_db, fresh_mlflow_store

__all__ = ["empty_mlflow_db", "fresh_mlflow_store"]
