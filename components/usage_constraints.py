"""Usage constraints on a card: badges a reviewer reads at a glance, and an editor."""

from __future__ import annotations

import streamlit as st

from services.core.domain.governance import ALL_USES, DataClassification, UsageConstraints
from services.core.governance import badge_texts

_BADGE_COLOURS = {"All uses allowed": "green", "Confidential": "orange", "Restricted": "red"}
_USE_LABELS = {"training": "Training", "validation": "Validation", "evaluation": "Evaluation", "few_shot": "Few-shot", "testing": "Testing"}


def badges(constraints: UsageConstraints) -> None:
    """e.g. ":red-badge[Training prohibited: PHI]", ":green-badge[All uses allowed]"."""
    rendered = []
    for text in badge_texts(constraints):
        colour = _BADGE_COLOURS.get(text, "red" if text.startswith("Training prohibited") else "gray")
        rendered.append(f":{colour}-badge[{text}]")
    rendered.append(f":gray-badge[{constraints.data_classification}]")
    st.markdown(" ".join(rendered))


def editor(key: str, initial: UsageConstraints, reason_label: str = "Reason") -> UsageConstraints:
    """Allowed and prohibited uses as checkboxes, a reason and a classification; returns the current values.

    Nothing is saved here: the caller saves (and audits) when the person acts.
    """
    allowed_column, prohibited_column = st.columns(2)
    allowed_column.caption("Allowed uses")
    prohibited_column.caption("Prohibited uses")
    allowed, prohibited = [], []
    for use in ALL_USES:
        if allowed_column.checkbox(_USE_LABELS[use], value=use in initial.allowed_uses, key=f"{key}_allow_{use}"):
            allowed.append(use)
        if prohibited_column.checkbox(_USE_LABELS[use], value=use in initial.prohibited_uses, key=f"{key}_prohibit_{use}"):
            prohibited.append(use)
    classifications = [c.value for c in DataClassification]
    classification = st.selectbox(
        "Data classification", classifications, index=classifications.index(str(initial.data_classification)), key=f"{key}_classification"
    )
    reason = st.text_input(reason_label, value=initial.usage_reason, key=f"{key}_reason")
    return UsageConstraints(tuple(allowed), tuple(prohibited), reason, classification)
