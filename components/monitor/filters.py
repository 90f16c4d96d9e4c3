"""Which endpoint, which model version and how far back; `?endpoint=<name>` preselects one."""

from __future__ import annotations

import streamlit as st

from services.monitor.traffic import LoggedEndpoint, Window

ALL_VERSIONS = "All versions"


def show(endpoints: list[LoggedEndpoint], key: str) -> tuple[str, str | None, Window]:
    by_name = {e.name: e for e in endpoints}
    if f"{key}_endpoint" not in st.session_state:
        linked = st.query_params.get("endpoint")
        st.session_state[f"{key}_endpoint"] = linked if linked in by_name else endpoints[0].name
    left, middle, right = st.columns(3)
    name = left.selectbox("Endpoint", list(by_name), key=f"{key}_endpoint",
                          format_func=lambda n: f"{n} · {by_name[n].requests:,} requests logged")
    versions = [ALL_VERSIONS, *by_name[name].versions]
    version = middle.selectbox("Model version", versions, key=f"{key}_version_{name}")
    windows = {w.title: w for w in Window}
    window = right.selectbox("Window", list(windows), index=1, key=f"{key}_window")
    return name, None if version == ALL_VERSIONS else version, windows[window]
