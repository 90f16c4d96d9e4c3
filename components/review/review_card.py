"""The review card: the source beside the pair (PDF pages, images with their labels' boxes, the
row's fields; for boxes to draw, the drawer), and beside it the pair's header, the review
actions (first, so they are in view without scrolling), the response as the schema's form, the
usage constraints and the prompt."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components import box_drawer, source_viewer, usage_constraints
from components.feedback import shown_errors
from components.review import pair_signals, review_form
from components.review.review_form import ReviewForm
from services.core.domain.canonical_label import CanonicalLabel
from services.core.domain.qa_pair import LabelingMode, PairStatus, QaPair
from services.core.domain.review import SeenLabel
from services.core.workbench import Workbench
from services.data.source_previews import PreviewError
from services.labels.label_schemas import BOXES_KEY, FormKind, ImageSize
from services.labels.labeling_session import drawing_image
from services.review.actions import ReviewService
from services.review.draft_confidence import confidence_note, draft_calibration
from services.review.response_form import ResponseForm
from services.review.signals import PairSignals
from services.review.sources import PairSource, source_of

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
    if pair.feedback_id:
        parts.append(":violet-badge[:material/autorenew: From production feedback]")
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


def _labeled_by(pair: QaPair, label: CanonicalLabel | None) -> None:
    """Who made the canonical label a pre-approved pair carries: the wow moment, on the card."""
    if pair.pre_approved and label is not None:
        when = f" at {label.last_modified_at:%Y-%m-%d %H:%M} UTC" if label.last_modified_at else ""
        st.caption(f"Pre-approved: its canonical label (version {label.version}) was labeled by {label.last_modified_by}{when}.")


def _prompt(pair: QaPair) -> None:
    """The template's system message and few-shot examples in one fold (the same for every pair
    of the Training Sheet); the item's own prompt in view."""
    messages = pair.prompt_messages
    system = [m for m in messages if m.role == "system"]
    turns = [m for m in messages if m.role != "system"]
    examples, prompt = turns[:-1], turns[-1:]
    if system or examples:
        shots = len(examples) // 2 or len(examples)
        with st.expander("Template prompt" + (f": system message and {shots} few-shot example(s)" if examples else ": system message")):
            for message in system:
                st.caption("System message")
                st.text(message.content)
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
    """The base key of the card's response form (per pair version below it)."""
    return f"{key}_response"


def _drawing(wb: Workbench, source: PairSource, form: ResponseForm) -> tuple[tuple[bytes, ImageSize] | None, str | None]:
    """The image to draw the response's boxes on, when the answer is boxes (else None), and why
    not when the image cannot be opened."""
    if form.schema.kind is not FormKind.BOXES:
        return None, None
    try:
        return drawing_image(wb, source.media), None
    except PreviewError as error:  # this item's image only: the form and the actions stay
        return None, str(error)


def _source(wb: Workbench, pair: QaPair, source: PairSource, form: ReviewForm, drawing: tuple[bytes, ImageSize] | None, key: str) -> None:
    """The source column: the drawer on the image when the answer is boxes, else the item's files and row."""
    if source.problem:
        st.warning(source.problem, icon=":material/table:")
    schema = form.form.schema
    if drawing is not None:
        box_drawer.show(*drawing, schema.box_classes, not schema.closed_choices, form.form.data.get(BOXES_KEY) or [], key=form.key)
        source_viewer.show(wb, (), key=f"{key}_source_{pair.id}", fields=source.fields)
        return
    source_viewer.show(wb, source.media, key=f"{key}_source_{pair.id}", fields=source.fields, boxes=source.boxes)


def show(wb: Workbench, review: ReviewService, pair: QaPair, actions: Callable[[ReviewForm, bool], None], key: str = "review_card") -> None:
    """Renders the card: its header and the review actions (drawn by `actions(form, edited)`)
    across the top, so they are in view without scrolling; the source beside the form below."""
    source = source_of(wb, pair)
    form = review.form(pair)
    drawing, cannot_draw = _drawing(wb, source, form)
    card_form = ReviewForm(form, pair, response_key(key), drawing is not None, SeenLabel(source.label))
    problems = lambda text: review.response_problems(pair.training_sheet_id, text)  # noqa: E731
    _header(pair)
    _labeled_by(pair, source.label)
    actions(card_form, review_form.state(card_form, problems).edited)
    source_column, pair_column = st.columns([5, 6], gap="large")
    with source_column:
        if cannot_draw:
            st.warning(cannot_draw, icon=":material/broken_image:")
        _source(wb, pair, source, card_form, drawing, key)
    with pair_column:
        _confidence(wb, pair)
        pair_signals.show(PairSignals(wb), pair, f"{key}_signals")
        review_form.show(card_form, problems)
        _constraints(review, pair, f"{key}_constraints")
        _prompt(pair)
