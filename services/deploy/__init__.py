"""DEPLOY: serve a trained model on Databricks Model Serving, on the laptop, or offline at the edge."""
