"""The MONITOR page's widgets."""
