"""A feedback item traced to the training pairs like its request: what their expert labels say,
and a way to each pair's label in the Canonical Labeling Tool, where a wrong one is fixed."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from components.feedback import shown_errors
from components.text import plain
from services.core.workbench import Workbench
from services.improve.records import Feedback
from services.improve.training_trace import SimilarPair, TrainingTrace, TrainingTraceService

PROMPT_SHOWN = 160  # characters of a training prompt in the table; the Canonical Labeling Tool shows the item


def label_link(pair: SimilarPair) -> str:
    """The Canonical Labeling Tool's deep link to the pair's item and label type."""
    return "canonical-labels?" + urlencode({"sheet": pair.sheet_id, "label_type": pair.label_type, "item": pair.item_ref})


def show(wb: Workbench, feedback: Feedback, key: str = "trace") -> TrainingTrace | None:
    st.markdown("**Trace to training data**")
    service = TrainingTraceService(wb)
    trace: TrainingTrace | None = None
    with shown_errors():
        waiting = service.untraced_pairs(feedback)
        note = f"Embedding this version's {waiting:,} training prompts (once per version)…" if waiting else "Finding similar training pairs…"
        with st.spinner(note):
            trace = service.trace(feedback)
    if trace is None:
        return None
    st.markdown(plain(trace.summary))
    if not trace.semantic:
        st.caption("Similar here means sharing words: the sentence-embedding model is not available, so meaning is not compared.")
    if not trace.pairs:
        return trace
    st.dataframe(pd.DataFrame([{
        "Similarity": round(p.similarity, 3), "Item": p.item_ref, trace.field or "Label": p.says(trace.field) or p.label or "",
        "Prompt": _clip(p.prompt), "Label in the Canonical Labeling Tool": label_link(p),
    } for p in trace.pairs]), hide_index=True, key=f"{key}_pairs", column_config={
        "Similarity": st.column_config.NumberColumn(help="Cosine similarity of the request's prompt and the pair's."),
        "Label in the Canonical Labeling Tool": st.column_config.LinkColumn(display_text="Open label"),
    })
    for pair in (p for p in trace.pairs if trace.disagrees_with_correction(p)):
        st.warning(
            f"{plain(pair.item_ref)}: its label says '{plain(pair.says(trace.field) or '(no value)')}', the correction says "
            f"'{plain(trace.corrected or '')}'. If the label is wrong, [fix it in the Canonical Labeling Tool]({label_link(pair)}).",
            icon=":material/rule:",
        )
    return trace


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PROMPT_SHOWN else flat[: PROMPT_SHOWN - 1] + "…"

