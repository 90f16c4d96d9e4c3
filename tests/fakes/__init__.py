"""Fakes of the outside world's wire protocols (never of our own code)."""
