"""The DEPLOY page's widgets."""
