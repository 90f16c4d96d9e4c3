"""Reusable Streamlit widgets. Each exposes `show(...)`, owns its session-state keys and
returns its value; components call services, never data_access."""
