"""What the dual gates let out: labeled, allowed and prohibited for training, and why."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from services.core.domain.qa_pair import TrainingSheet
from services.train.export_records import ExportSummary, GateCounts


def show(summary: ExportSummary, training_sheets: list[TrainingSheet]) -> None:
    counts = summary.total
    st.markdown(
        f"**Total labeled {counts.labeled:,} · Training allowed {counts.training_allowed:,} · "
        f"Training prohibited {counts.training_prohibited:,}**" + (f" ({counts.reasons_line})" if counts.reasons else "")
    )
    st.caption(
        f"Validation allowed {counts.validation_allowed:,} · not exported, not approved: "
        f"{counts.unlabeled:,} unlabeled · {counts.rejected:,} rejected · {counts.flagged:,} flagged. "
        "A pair goes to a split only when it is labeled and that use is allowed and not prohibited."
    )
    if counts.reasons:
        st.dataframe(
            pd.DataFrame({
                "Why training is prohibited": [r.reason or "(no reason given)" for r in counts.reasons],
                "Classification": [r.classification for r in counts.reasons],
                "Pairs": [r.pairs for r in counts.reasons],
            }),
            hide_index=True, width="stretch",
        )
    if len(training_sheets) > 1:
        names = {t.id: t.name for t in training_sheets}
        st.dataframe(_by_sheet(summary.by_sheet, names), hide_index=True, width="stretch")


def _by_sheet(rows: Mapping[str, GateCounts], names: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({
        "Training Sheet": [names.get(i, i) for i in rows],
        "Labeled": [c.labeled for c in rows.values()],
        "Training allowed": [c.training_allowed for c in rows.values()],
        "Training prohibited": [c.training_prohibited for c in rows.values()],
        "Validation allowed": [c.validation_allowed for c in rows.values()],
        "Not approved": [c.excluded_by_status for c in rows.values()],
    })
