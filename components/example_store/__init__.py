"""Widgets of the Example Store page."""
