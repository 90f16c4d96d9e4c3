"""The review queue's filters: status, labeling mode, AI confidence, usage, classification, text,
LABEL signal."""

from __future__ import annotations

import streamlit as st

from services.core.domain.governance import ALL_USES, DataClassification
from services.core.domain.qa_pair import LabelingMode, PairStatus
from services.core.domain.review import QueueFilter
from services.core.domain.signals import SIGNAL_FILTERS
from services.review.queue import MAX_SEARCH_LENGTH, NEEDS_REVIEW

ANY = "Any"
_USE_LABELS = {"training": "Training", "validation": "Validation", "evaluation": "Evaluation", "few_shot": "Few-shot", "testing": "Testing"}


PRE_APPROVED_CHIP = "Pre-approved from canonical labels"


def chip(key: str = "review_filters") -> bool:
    """The queue's quick filter: the pairs that arrived pre-approved and nobody has reviewed since."""
    chosen = st.pills(
        "Show", [PRE_APPROVED_CHIP], selection_mode="single", key=f"{key}_chip", label_visibility="collapsed",
        help="Pairs labeled from a canonical label when the Training Sheet was made, each with who labeled it.",
    )
    return chosen == PRE_APPROVED_CHIP


def show(key: str = "review_filters", pre_approved: bool = False, flagged: dict[str, int] | None = None) -> QueueFilter:
    """The filter the person set (by default: the pairs that still need a decision). With the
    pre-approved chip on, the chip decides status and mode. `flagged`: pairs each LABEL signal flags."""
    first, second, third = st.columns([3, 3, 2])
    decided = "The Pre-approved chip decides this while it is on." if pre_approved else None
    statuses = first.multiselect(
        "Status", [s.value for s in PairStatus], default=list(NEEDS_REVIEW), key=f"{key}_status",
        help=decided or "Empty means every status.", disabled=pre_approved,
    )
    modes = second.multiselect(
        "Labeling mode", [m.value for m in LabelingMode], key=f"{key}_mode", help=decided or "Empty means every mode.", disabled=pre_approved,
    )
    low, high = third.slider("AI confidence", 0.0, 1.0, (0.0, 1.0), step=0.01, key=f"{key}_confidence")
    fourth, fifth, sixth, seventh = st.columns([2, 2, 2, 3])
    uses = [ANY, *ALL_USES]
    usable = fourth.selectbox(
        "Usable for", uses, key=f"{key}_usable", format_func=lambda u: _USE_LABELS.get(u, u),
        help="Approved pairs whose usage constraints permit this use (both gates).",
    )
    not_usable = fifth.selectbox(
        "Not usable for", uses, key=f"{key}_not_usable", format_func=lambda u: _USE_LABELS.get(u, u),
        help="Pairs not approved yet, or whose usage constraints do not permit this use.",
    )
    classification = sixth.selectbox("Classification", [ANY, *(c.value for c in DataClassification)], key=f"{key}_classification")
    search = seventh.text_input(
        "Search", key=f"{key}_search", max_chars=MAX_SEARCH_LENGTH, placeholder="Text in the prompt or response, or an item ref"
    )
    from_feedback = st.toggle("From production feedback only", key=f"{key}_from_feedback",
                              help="Pairs IMPROVE added from feedback on a deployed model's answers.")
    counts = flagged or {}
    signal = st.selectbox(
        "LABEL signal", [ANY, *SIGNAL_FILTERS], key=f"{key}_signal",
        format_func=lambda s: s if s == ANY else f"{SIGNAL_FILTERS[s]} ({counts.get(s, 0):,})",
        help="Pairs a check flags, with its reason on the card. A signal is never a decision.",
    )
    # The full range means "no bound", so pairs without an AI confidence (manual, canonical) stay in.
    full_range = low <= 0.0 and high >= 1.0
    return QueueFilter(
        statuses=() if pre_approved else tuple(statuses),
        modes=() if pre_approved else tuple(modes),
        confidence_min=None if full_range else low,
        confidence_max=None if full_range else high,
        permitted_use=None if usable == ANY else usable,
        prohibited_use=None if not_usable == ANY else not_usable,
        data_classification=None if classification == ANY else classification,
        search=search.strip(),
        pre_approved=pre_approved,
        from_feedback=from_feedback,
        signal=None if signal == ANY else signal,
    )
