"""Planned pairs before generation: what each item will become and why."""

from __future__ import annotations

import streamlit as st

from components.generate import draft_record
from components.source_preview import attached
from components.usage_constraints import badges
from services.core.workbench import Workbench
from services.generate.draft_calibration import DraftCalibration
from services.generate.generation import PlannedPair

_MODE_CAPTIONS = {
    "canonical": ":green-badge[Pre-approved from a canonical label]",
    "ai_generated": ":blue-badge[Drafted]",
    "manual": ":gray-badge[For an expert to write]",
    "existing_column": ":violet-badge[From the source column]",
}


def _shared(pairs: list[PlannedPair]) -> bool:
    """The template's system message and few-shot examples, the same for every pair: shown once.
    False when the pairs' differ (then each pair shows its own)."""
    first = pairs[0].messages[:-1] if pairs and pairs[0].messages else ()
    if any(p.messages[:-1] != first for p in pairs):
        return False
    if not first:
        return True
    examples = sum(1 for m in first if m.role == "assistant")
    title = "Every pair's system message" + (f" and {examples} few-shot example(s)" if examples else "")
    with st.expander(title, icon=":material/description:"):
        for message in first:
            st.caption({"system": "System message", "assistant": "Example answer"}.get(message.role, "Example prompt"))
            st.text(message.content)
    return True


def show(workbench: Workbench, pairs: list[PlannedPair], drafter: str | None, calibration: DraftCalibration | None = None) -> None:
    if drafter:
        st.info(drafter, icon=":material/smart_toy:")
    if calibration is not None:
        draft_record.table(calibration)
    shown_once = _shared(pairs)
    for pair in pairs:
        with st.container(border=True):
            st.markdown(f"**{pair.item_ref}** · {_MODE_CAPTIONS.get(pair.labeling_mode, pair.labeling_mode)} · status `{pair.status}`")
            badges(pair.constraints)
            attached(workbench, pair.media_refs)
            for message in pair.messages[-1:] if shown_once else pair.messages:
                st.caption("User message" if message is pair.messages[-1] else message.role)
                st.text(message.content)
            meaning = calibration.meaning(pair.ai_confidence) if calibration else ""
            confidence = f" · confidence {pair.ai_confidence:.2f}" if pair.ai_confidence is not None else ""
            st.caption(f"response{confidence}" + (f": {meaning}" if meaning else ""))
            if pair.error:
                st.warning(pair.error, icon=":material/error:")
            st.code(pair.response or "(empty)", language="json" if pair.response.startswith("{") else None, wrap_lines=True)
