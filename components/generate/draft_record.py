"""The drafter's record: its measured accuracy beside the majority answer, and the calibration
table that says what each confidence means (on a Training Sheet, and in the preview)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.core.domain.qa_pair import TrainingSheet
from services.generate.draft_calibration import DraftCalibration, calibration_of


def show(training_sheet: TrainingSheet) -> None:
    calibration = calibration_of(training_sheet)
    if calibration is None:
        return
    st.markdown(f"**Offline drafter** — {calibration.summary()}")
    table(calibration)


def table(calibration: DraftCalibration) -> None:
    """Confidence band → agreement with the experts, folded away."""
    if not calibration.offered:
        return
    with st.expander("What a draft's confidence means (measured on this sheet's expert labels)", icon=":material/query_stats:"):
        st.dataframe(
            pd.DataFrame({
                "Confidence": [f"{b.agreement:.2f}" for b in calibration.bands],
                "Raw vote share": [f"{b.min_score:.2f}–{b.max_score:.2f}" for b in calibration.bands],
                "Labeled items": [b.drafts for b in calibration.bands],
                "Agreed with the expert": [f"{b.agreed} ({b.agreement:.0%})" for b in calibration.bands],
            }),
            hide_index=True, width="stretch",
        )
        st.caption(
            "Each labeled item was drafted from the other labeled items; its draft falls in a band by the share of the "
            "vote it won, and a band's confidence is how often its drafts named exactly the expert's label."
        )
