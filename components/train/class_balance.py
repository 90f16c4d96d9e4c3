"""The split per label value: how many pairs train, how many validate, and their copies."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.train.export_records import Stratify
from services.train.split_plan import SplitPlan


def show(plan: SplitPlan) -> None:
    if not plan.strata:
        st.info("No pair passes the training or the validation gate: there is nothing to split.")
        return
    column = {Stratify.FIELD: plan.config.stratify_field, Stratify.RESPONSE: "Response group", Stratify.NONE: "All pairs"}[plan.config.stratify]
    st.dataframe(
        pd.DataFrame({
            column: ["(none)" if s.value is None else s.value for s in plan.strata],
            "Train pairs": [s.train for s in plan.strata],
            "Copies": [s.copies for s in plan.strata],
            "Train lines": [s.train_lines for s in plan.strata],
            "Validation pairs": [s.validation for s in plan.strata],
        }),
        hide_index=True, width="stretch",
    )
    share = plan.validation / plan.pairs if plan.pairs else 0.0
    st.caption(
        f"{plan.train:,} train pairs ({plan.train_lines:,} lines) · {plan.validation:,} validation pairs ({share:.0%}) · "
        f"{plan.config.describe()}. A pair allowed for only one of the two uses goes to that split."
    )
