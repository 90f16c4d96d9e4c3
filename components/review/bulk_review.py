"""Bulk actions on the filtered queue, behind a dialog that says how many pairs change."""

from __future__ import annotations

import streamlit as st

from components.feedback import flash, shown_errors
from components.review import review_actions
from services.core.domain.review import QueueFilter, ReviewAction
from services.review.actions import ReviewService

_WORDS = {ReviewAction.BULK_APPROVE: ("Approve", "approved"), ReviewAction.BULK_REJECT: ("Reject", "rejected")}
# Which bulk action's dialog is open: kept in session state so the dialog survives the reruns
# its own widgets cause, and cleared when it is confirmed, cancelled or dismissed.
_OPEN = "bulk_review_open"


def _close() -> None:
    st.session_state.pop(_OPEN, None)


@st.dialog("Confirm the bulk action", width="large", on_dismiss=_close)
def _confirm(review: ReviewService, training_sheet_id: str, queue_filter: QueueFilter, action: ReviewAction, key: str) -> None:
    verb, done = _WORDS[action]
    with shown_errors():
        plan = review.plan_bulk(training_sheet_id, queue_filter, action)
        st.markdown(
            f"**{plan.count:,} pairs will be {done}** — of the {plan.in_queue:,} pairs matching: {queue_filter.describe()}."
        )
        if action == ReviewAction.BULK_APPROVE and plan.count:
            if plan.agreement is not None:
                st.markdown(plan.agreement.sentence())
            st.caption("Each gets a canonical label (confidence: medium, noted as a bulk approval), reused by later Training Sheets.")
        if plan.refusal:
            st.error(plan.refusal, icon=":material/block:")
        for reason in plan.reasons():
            st.caption(f"Left alone: {reason}.")
        note = st.text_input("Note (kept with each pair)", key=f"{key}_note")
        confirm, cancel = st.columns(2)
        if cancel.button("Cancel", key=f"{key}_cancel", width="stretch"):
            _close()
            st.rerun()
        if confirm.button(f"{verb} {plan.count:,} pairs", key=f"{key}_confirm", type="primary", disabled=plan.count == 0 or bool(plan.refusal), width="stretch"):
            act = review.bulk_approve if action == ReviewAction.BULK_APPROVE else review.bulk_reject
            result = act(training_sheet_id, queue_filter, note)
            _close()
            review_actions.choose(training_sheet_id, None)  # start again at the first pair still in the queue
            flash(f"{done.capitalize()} {result.changed:,} pairs ({queue_filter.describe()}).")
            st.rerun()


def show(review: ReviewService, training_sheet_id: str, queue_filter: QueueFilter, key: str = "bulk_review") -> None:
    with st.expander("Bulk actions on this queue", icon=":material/done_all:"):
        st.caption(
            f"Applies to the pairs matching {queue_filter.describe()} that nobody has decided yet; "
            "set the AI confidence filter first. A draft's confidence is how often drafts like it agreed with the experts' "
            "labels of this sheet; the confirmation says how many of the pairs are likely right."
        )
        approve, reject = st.columns(2)
        if approve.button("Approve the undecided pairs…", key=f"{key}_approve", icon=":material/done_all:", width="stretch"):
            st.session_state[_OPEN] = ReviewAction.BULK_APPROVE
        if reject.button("Reject the undecided pairs…", key=f"{key}_reject", icon=":material/remove_done:", width="stretch"):
            st.session_state[_OPEN] = ReviewAction.BULK_REJECT
    action = st.session_state.get(_OPEN)
    if action in _WORDS:
        _confirm(review, training_sheet_id, queue_filter, action, f"{key}_{action}")
