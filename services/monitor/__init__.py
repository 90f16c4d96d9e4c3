"""MONITOR: what the endpoints did, from the inference log, aggregated in SQL."""
