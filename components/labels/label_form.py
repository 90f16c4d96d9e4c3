"""The label form for one label type: the schema's inputs (components/label_fields.py, the same
as LABEL's review form), confidence, notes and usage constraints, saved with Save (Ctrl+Enter).

The form collects what the person typed; turning it into label data and checking it is the
service's job (`services.labels.label_schemas`), so the same rules hold for the form and for imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from components import label_fields, usage_constraints
from services.core.domain.canonical_label import CanonicalLabel, Confidence
from services.core.domain.governance import UsageConstraints
from services.labels.label_schemas import LabelSchema

SAVE_SHORTCUT = "Ctrl+Enter"
_CONFIDENCES = [c.value for c in Confidence]
_READ_KEY = "label_form_read"  # (label id, version read) of the label open in this session


@dataclass(frozen=True)
class LabelFormInput:
    raw: dict[str, Any]  # field name → what was entered (text, a choice, boxes), not yet typed or checked
    confidence: str
    notes: str
    constraints: UsageConstraints


def opened(label_id: str, current: CanonicalLabel | None) -> tuple[str, int]:
    """The form's key and the version the expert read when they opened this label. It stays with
    the form while they work on it, so a change someone else makes meanwhile is refused and shown,
    never overwritten; opening another label (or coming back later) reads afresh."""
    remembered = st.session_state.get(_READ_KEY)
    if not remembered or remembered[0] != label_id:
        remembered = (label_id, current.version if current else 0)
        st.session_state[_READ_KEY] = remembered
    return f"label_{label_id}_{remembered[1]}", remembered[1]


def forget() -> None:
    """After a save, a refused save or a rollback: the next run shows the label as it is then."""
    st.session_state.pop(_READ_KEY, None)


def show(
    schema: LabelSchema,
    current: CanonicalLabel | None,
    defaults: UsageConstraints,
    key: str,
    boxes: list[dict[str, Any]] | None = None,
) -> LabelFormInput | None:
    """The form; returns what was entered when the person saves, else None."""
    data = current.label_data if current else {}
    with st.form(key, border=True, enter_to_submit=False):
        st.caption(f"Form: {schema.source}.")
        raw = label_fields.show(schema, data, key, boxes)
        confidence = st.radio(
            "Confidence", _CONFIDENCES, index=_CONFIDENCES.index(current.content.confidence) if current else 0,
            format_func=str.title, horizontal=True, key=f"{key}_confidence",
        )
        notes = st.text_area("Notes", value=current.content.notes if current else "", height=80, key=f"{key}_notes",
                             placeholder="Your reasoning, for whoever reads this label next")
        initial = current.constraints if current else defaults
        st.markdown("**Usage constraints**" + ("" if current else " (from the source's Unity Catalog tags)"))
        usage_constraints.badges(initial)
        constraints = usage_constraints.editor(f"{key}_constraints", initial)
        saved = st.form_submit_button("Save label", type="primary", icon=":material/save:", shortcut=SAVE_SHORTCUT)
    if not saved:
        return None
    return LabelFormInput(raw, str(confidence), notes, constraints)
