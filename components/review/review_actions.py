"""The review actions at the top of the card, each with its keyboard shortcut on its button, and
the pair under review (the `?pair=<id>` deep link follows it).

Actions run as button callbacks: the form's values (or the JSON editor's text) and the note are
read from session state (current as of the click), the service acts, and the run that follows
already shows the next pair; inside the page's fragment only the review pane reruns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from components.review.review_form import ReviewForm
from services.core.domain.qa_pair import QaPair
from services.core.domain.review import QueueFilter
from services.core.errors import NotFoundError, StaleWriteError, ValidationError, WorkbenchError
from services.review.actions import ReviewService
from services.review.queue import ReviewQueue

QUERY_PARAM = "pair"
_NOTICE = "review_notice"


@dataclass(frozen=True)
class ReviewContext:
    review: ReviewService
    queue: ReviewQueue
    training_sheet_id: str
    queue_filter: QueueFilter
    form: ReviewForm  # the card's response form (or its JSON editor)


@dataclass(frozen=True)
class Shortcut:
    label: str
    key: str
    icon: str


# Single keys work while no text field has the focus ("C" and "R" are Streamlit's own).
APPROVE = Shortcut("Approve", "A", ":material/check:")
EDIT_APPROVE = Shortcut("Save edit & approve", "E", ":material/edit_note:")
REJECT = Shortcut("Reject", "X", ":material/close:")
FLAG = Shortcut("Flag", "F", ":material/flag:")
PREVIOUS = Shortcut("Previous", "P", ":material/arrow_back:")
NEXT = Shortcut("Next", "N", ":material/arrow_forward:")
UNDO = Shortcut("Undo", "U", ":material/undo:")


def _current_key(training_sheet_id: str) -> str:
    return f"review_pair_{training_sheet_id}"


def _filter_key(training_sheet_id: str) -> str:
    return f"review_filter_{training_sheet_id}"


def current_pair(queue: ReviewQueue, training_sheet_id: str, queue_filter: QueueFilter) -> QaPair | None:
    """The pair under review: the one chosen (or deep-linked), else the queue's first.
    A changed filter starts again at the first pair it matches."""
    state = st.session_state
    filter_json = queue_filter.to_json()
    wanted = state.get(_current_key(training_sheet_id)) or st.query_params.get(QUERY_PARAM)
    if state.get(_filter_key(training_sheet_id), filter_json) != filter_json:
        wanted = None
    state[_filter_key(training_sheet_id)] = filter_json
    pair = None
    if wanted:
        try:
            pair = queue.pair(wanted)
        except NotFoundError:
            pair = None
    if pair is None or pair.training_sheet_id != training_sheet_id:
        pair = queue.first(training_sheet_id, queue_filter)
    choose(training_sheet_id, pair.id if pair else None)
    return pair


def choose(training_sheet_id: str, pair_id: str | None) -> None:
    st.session_state[_current_key(training_sheet_id)] = pair_id
    if pair_id:
        st.query_params[QUERY_PARAM] = pair_id
    else:
        st.query_params.pop(QUERY_PARAM, None)


def show_notice() -> None:
    notice = st.session_state.pop(_NOTICE, None)
    if notice is None:
        return
    kind, text = notice
    if kind == "success":
        st.success(text, icon=":material/check_circle:")
    elif kind == "warning":
        st.warning(text, icon=":material/sync_problem:")
    else:
        st.error(text, icon=":material/error:")


@contextmanager
def _noticed() -> Iterator[None]:
    try:
        yield
    except StaleWriteError as error:
        st.session_state[_NOTICE] = ("warning", str(error))
    except WorkbenchError as error:
        st.session_state[_NOTICE] = ("error", str(error))


def _advance(ctx: ReviewContext, pair: QaPair, message: str, upcoming: Future[QaPair | None] | None = None) -> None:
    following = upcoming.result() if upcoming else ctx.queue.following(ctx.training_sheet_id, ctx.queue_filter, pair.ordinal)
    if following is None:
        message += " That was the last pair in this queue."
    choose(ctx.training_sheet_id, following.id if following else None)
    st.session_state[_NOTICE] = ("success", message)


def _note(note_key: str) -> str | None:
    return st.session_state.get(note_key) or None


def _approve(ctx: ReviewContext, pair: QaPair, note_key: str, with_edit: bool) -> None:
    with _noticed():
        text = ctx.form.text()
        if not with_edit and text != pair.response:
            raise ValidationError(
                f"You edited the response: press {EDIT_APPROVE.label} ({EDIT_APPROVE.key}) to approve your edit, "
                "or Revert edit to approve the model's answer."
            )
        upcoming = ctx.queue.prefetch_following(ctx.training_sheet_id, ctx.queue_filter, pair.ordinal)
        outcome = ctx.review.approve(pair, pair.row_version, response=text if with_edit else None, note=_note(note_key), seen=ctx.form.seen)
        version = outcome.label.version if outcome.label else 0
        label = "created its canonical label" if version == 1 else f"updated its canonical label to version {version}"
        verb = "Edited and approved" if with_edit and text != pair.response else "Approved"
        _advance(ctx, pair, f"{verb} {pair.item_ref} and {label}.", upcoming)


def _decide(ctx: ReviewContext, pair: QaPair, note_key: str, act: Callable[..., object], done: str) -> None:
    with _noticed():
        upcoming = ctx.queue.prefetch_following(ctx.training_sheet_id, ctx.queue_filter, pair.ordinal)
        act(pair, pair.row_version, _note(note_key))
        _advance(ctx, pair, f"{done} {pair.item_ref}.", upcoming)


def _step(ctx: ReviewContext, pair: QaPair, forward: bool) -> None:
    with _noticed():
        q, ts, f = ctx.queue, ctx.training_sheet_id, ctx.queue_filter
        found = q.next_after(ts, f, pair.ordinal) if forward else q.previous_before(ts, f, pair.ordinal)
        if found is None:
            raise ValidationError("This is the last pair in the queue." if forward else "This is the first pair in the queue.")
        choose(ts, found.id)


def _undo(ctx: ReviewContext) -> None:
    with _noticed():
        outcome = ctx.review.undo_last(ctx.training_sheet_id)
        choose(ctx.training_sheet_id, outcome.pair.id)
        st.session_state[_NOTICE] = ("success", f"Undone: {outcome.pair.item_ref} is {outcome.pair.status} again.")


def _button(column: object, shortcut: Shortcut, key: str, on_click: Callable[..., None], args: tuple, primary: bool = False) -> None:
    column.button(  # type: ignore[attr-defined]
        shortcut.label, key=f"{key}_{shortcut.key}", icon=shortcut.icon, shortcut=shortcut.key, on_click=on_click, args=args,
        type="primary" if primary else "secondary", width="stretch",
    )


def show(ctx: ReviewContext, pair: QaPair, edited: bool, key: str = "review_actions") -> None:
    show_notice()
    note_key = f"{key}_note_{pair.id}_{pair.row_version}"
    decide = st.columns(4)
    _button(decide[0], APPROVE, key, _approve, (ctx, pair, note_key, False), primary=not edited)
    _button(decide[1], EDIT_APPROVE, key, _approve, (ctx, pair, note_key, True), primary=edited)
    _button(decide[2], REJECT, key, _decide, (ctx, pair, note_key, ctx.review.reject, "Rejected"))
    _button(decide[3], FLAG, key, _decide, (ctx, pair, note_key, ctx.review.flag, "Flagged"))
    note, previous, following, undo = st.columns([4, 1.4, 1.4, 1.4], vertical_alignment="bottom")
    note.text_input("Note", key=note_key, placeholder="Why? (needed to flag; kept with the review)", label_visibility="collapsed")
    _button(previous, PREVIOUS, key, _step, (ctx, pair, False))
    _button(following, NEXT, key, _step, (ctx, pair, True))
    _button(undo, UNDO, key, _undo, (ctx,))
    if edited:
        st.button("Revert edit", key=f"{key}_revert", icon=":material/restart_alt:", on_click=ctx.form.revert)
