"""The IMPROVE page's widgets."""
