"""Planned pairs before generation: what each item will become and why."""

from __future__ import annotations

import streamlit as st

from components.generate import draft_record
from components.usage_constraints import badges
from services.generate.draft_calibration import DraftCalibration
from services.generate.generation import PlannedPair

_MODE_CAPTIONS = {
    "canonical": ":green-badge[Pre-approved from a canonical label]",
    "ai_generated": ":blue-badge[Drafted]",
    "manual": ":gray-badge[For an expert to write]",
    "existing_column": ":violet-badge[From the source column]",
}


def show(pairs: list[PlannedPair], drafter: str | None, calibration: DraftCalibration | None = None) -> None:
    if drafter:
        st.info(drafter, icon=":material/smart_toy:")
    if calibration is not None:
        draft_record.table(calibration)
    for pair in pairs:
        with st.container(border=True):
            st.markdown(f"**{pair.item_ref}** · {_MODE_CAPTIONS.get(pair.labeling_mode, pair.labeling_mode)} · status `{pair.status}`")
            badges(pair.constraints)
            for message in pair.messages:
                st.caption(message.role)
                st.text(message.content)
            meaning = calibration.meaning(pair.ai_confidence) if calibration else ""
            confidence = f" · confidence {pair.ai_confidence:.2f}" if pair.ai_confidence is not None else ""
            st.caption(f"response{confidence}" + (f": {meaning}" if meaning else ""))
            if pair.error:
                st.warning(pair.error, icon=":material/error:")
            st.code(pair.response or "(empty)", language="json" if pair.response.startswith("{") else None, wrap_lines=True)
