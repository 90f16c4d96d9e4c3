"""The outside world: SQL engines, schema, files and volumes, catalog, identity, models."""
