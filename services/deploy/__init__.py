"""DEPLOY: serve a registered model version as an endpoint, with guardrails and an inference log."""
