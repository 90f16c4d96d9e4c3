"""Two versions of a model scored on the same held-out evaluation pairs (TRAIN's lineage, MONITOR's A/B)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.train.version_comparison import SamePairsComparison


def show(compared: SamePairsComparison) -> None:
    st.markdown(compared.summary)
    if compared.previous is None or compared.current is None:
        return
    a, b = f"v{compared.previous_version}", f"v{compared.current_version}"
    st.dataframe(
        pd.DataFrame(
            {
                "Accuracy": [compared.previous.accuracy, compared.current.accuracy],
                "F1": [compared.previous.f1_score, compared.current.f1_score],
                "Valid output": [compared.previous.valid_output_rate, compared.current.valid_output_rate],
            },
            index=[a, b],
        ),
        column_config={c: st.column_config.NumberColumn(format="%.2f") for c in ("Accuracy", "F1", "Valid output")},
    )
    st.dataframe(
        pd.DataFrame(
            {
                "Pair": [p.pair_id[:8] for p in compared.pairs],
                "Expected": [p.expected for p in compared.pairs],
                a: [p.previous for p in compared.pairs],
                f"{a} right": [p.previous_correct for p in compared.pairs],
                b: [p.current for p in compared.pairs],
                f"{b} right": [p.current_correct for p in compared.pairs],
            }
        ),
        hide_index=True, width="stretch",
    )
