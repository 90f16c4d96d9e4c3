"""Widgets of the TRAIN page."""
