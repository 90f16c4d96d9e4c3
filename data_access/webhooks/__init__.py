"""Webhooks: JSON POSTed to a URL someone configured (alert deliveries)."""
