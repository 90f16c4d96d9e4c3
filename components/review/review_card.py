"""The review card: the source beside the pair (PDF pages, images with their labels' boxes, the
row's fields), the prompt, the usage constraints, and the response in its editor."""

from __future__ import annotations

import streamlit as st

from components import source_viewer, usage_constraints
from components.feedback import shown_errors
from components.review import response_editor
from services.core.domain.qa_pair import LabelingMode, PairStatus, QaPair
from services.core.workbench import Workbench
from services.review.actions import ReviewService
from services.review.draft_confidence import confidence_note, draft_calibration
from services.review.sources import source_of

_STATUS_COLOURS = {PairStatus.LABELED: "green", PairStatus.REJECTED: "red", PairStatus.FLAGGED: "orange", PairStatus.UNLABELED: "gray"}
_MODE_LABELS = {
    LabelingMode.AI_GENERATED: "AI-generated", LabelingMode.MANUAL: "Manual", LabelingMode.EXISTING_COLUMN: "Existing column",
    LabelingMode.CANONICAL: "Pre-approved from a canonical label",
}


def _header(pair: QaPair) -> None:
    colour = _STATUS_COLOURS.get(PairStatus(pair.status), "gray")
    parts = [f"**{pair.item_ref}**", f":{colour}-badge[{pair.status}]", f":gray-badge[{_MODE_LABELS.get(LabelingMode(pair.labeling_mode), pair.labeling_mode)}]"]
    if pair.ai_confidence is not None:
        parts.append(f"AI confidence **{pair.ai_confidence:.2f}**")
    st.markdown(" ".join(parts))
    if pair.reviewed_by:
        when = f" at {pair.reviewed_at:%Y-%m-%d %H:%M} UTC" if pair.reviewed_at else ""
        note = f" — “{pair.review_notes}”" if pair.review_notes else ""
        st.caption(f"Reviewed by {pair.reviewed_by}{when}{note}")
    if pair.generation_error:
        st.warning(f"Generation failed for this item: {pair.generation_error}", icon=":material/error:")


def _confidence(wb: Workbench, pair: QaPair) -> None:
    """What the draft's confidence means: measured against this sheet's expert labels, or not."""
    if pair.labeling_mode != LabelingMode.AI_GENERATED:
        return
    note = confidence_note(draft_calibration(wb, pair.training_sheet_id), pair)
    if note is not None:
        (st.info if note.no_suggestion else st.caption)(note.text)


def _prompt(pair: QaPair) -> None:
    """The system message and any few-shot turns folded away; the item's own prompt in view."""
    messages = pair.prompt_messages
    system = [m for m in messages if m.role == "system"]
    turns = [m for m in messages if m.role != "system"]
    if system:
        with st.expander("System message"):
            for message in system:
                st.text(message.content)
    examples, prompt = turns[:-1], turns[-1:]
    if examples:
        with st.expander(f"Few-shot examples ({len(examples) // 2 or len(examples)})"):
            for message in examples:
                st.caption("Example answer" if message.role == "assistant" else "Example prompt")
                st.text(message.content)
    for message in prompt:
        st.caption("User message")
        st.container(border=True).text(message.content)


def _constraints(review: ReviewService, pair: QaPair, key: str) -> None:
    usage_constraints.badges(pair.constraints)
    with st.expander("Change usage constraints", icon=":material/policy:"):
        edited = usage_constraints.editor(f"{key}_{pair.id}_{pair.row_version}", pair.constraints, "Reason for the change (kept in the audit trail)")
        if st.button("Save constraints", key=f"{key}_save_{pair.id}", icon=":material/save:"):
            with shown_errors():
                review.change_constraints(pair, pair.row_version, edited)
                st.rerun()
        audit = review.constraint_audit(pair.id)
        for change in reversed(audit[-5:]):
            when = f"{change.modified_at:%Y-%m-%d %H:%M}" if change.modified_at else ""
            old_allowed = ", ".join(change.old.allowed_uses) or "—" if change.old else "(new label)"
            old_classification = change.old.data_classification if change.old else "—"
            st.caption(
                f"{when} {change.modified_by}: allowed {old_allowed} → "
                f"{', '.join(change.new.allowed_uses) or '—'}; classification {old_classification} → "
                f"{change.new.data_classification}. “{change.reason}”"
            )


def response_key(key: str = "review_card") -> str:
    """The key of the card's response editor (the review actions read the text under it)."""
    return f"{key}_response"


def show(wb: Workbench, review: ReviewService, pair: QaPair, key: str = "review_card") -> response_editor.EditorState:
    """Renders the card; returns what the response editor holds."""
    source_column, pair_column = st.columns([5, 6], gap="large")
    with source_column:
        source = source_of(wb, pair)
        if source.problem:
            st.warning(source.problem, icon=":material/table:")
        source_viewer.show(wb, source.media, key=f"{key}_source_{pair.id}", fields=source.fields, boxes=source.boxes)
    with pair_column:
        _header(pair)
        _confidence(wb, pair)
        _constraints(review, pair, f"{key}_constraints")
        _prompt(pair)
        return response_editor.show(
            response_key(key), pair, lambda text: review.response_problems(pair.training_sheet_id, text)
        )
