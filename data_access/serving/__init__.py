"""Serving registered models: the seam a served endpoint answers through."""
