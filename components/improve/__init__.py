"""IMPROVE's page sections."""
