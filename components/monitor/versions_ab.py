"""A/B: two versions of the endpoint picked, and their figures side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.monitor.traffic_charts import rate
from components.train import version_comparison
from services.monitor.versions_compared import VersionMetrics
from services.train.version_comparison import SamePairsComparison


def pick(versions: tuple[str, ...], key: str) -> tuple[str, str] | None:
    if len(versions) < 2:
        st.info("A/B needs two model versions logged for this endpoint: deploy another version to it (or split its traffic "
                "between two on Model Serving) and send it requests.")
        return None
    left, right = st.columns(2)
    a = left.selectbox("Version A", versions, index=0, key=f"{key}_a")
    b = right.selectbox("Version B", versions, index=1, key=f"{key}_b")
    if a == b:
        st.info("Pick two different versions.")
        return None
    return a, b


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def show(compared: list[VersionMetrics], evaluated: SamePairsComparison | None = None) -> None:
    rows = {
        "Requests": [f"{m.requests:,}" for m in compared],
        "Throughput": [rate(m.requests_per_s) for m in compared],
        "Error rate": [_share(m.error_rate) for m in compared],
        "Guardrails passed": [_share(m.guardrail_pass_rate) for m in compared],
        "Latency p50": [_ms(m.p50_ms) for m in compared],
        "Latency p95": [_ms(m.p95_ms) for m in compared],
        "Accuracy": [f"{_share(m.accuracy)} ({m.correct} of {m.compared})" if m.compared else "— (no known answers)" for m in compared],
    }
    table = pd.DataFrame(rows, index=[f"v{m.version}" for m in compared]).T
    st.dataframe(table)
    if evaluated is not None:
        st.markdown("**TRAIN's evaluation of both versions**")
        version_comparison.show(evaluated)
