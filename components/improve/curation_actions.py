"""What an expert does with the selected patterns: add them to a Training Sheet as pairs to
label, write the correction as the item's canonical label, flag them for a senior expert, or
dismiss them. Every item of a selected pattern moves; a stale one stops the action."""

from __future__ import annotations

import streamlit as st

from components.feedback import flash, shown_errors
from services.improve.curation import FeedbackCuration
from services.improve.queue import QueueGroup, QueueItem

NEW_SHEET = "A new Training Sheet"
EXISTING_SHEET = "An existing Training Sheet"


def show(curation: FeedbackCuration, groups: list[QueueGroup], key: str) -> None:
    items = [i for g in groups for i in g.items]
    st.markdown(f"**Route {len(items)} feedback item(s) from {len(groups)} pattern(s)**")
    add, label, flag = st.tabs(["Add to Training Sheet", "Update canonical label", "Flag or dismiss"])
    with add:
        _add_to_training_sheet(curation, items, key)
    with label:
        _update_label(curation, groups[0].lead, key)
    with flag:
        _flag_or_dismiss(curation, items, key)


def _add_to_training_sheet(curation: FeedbackCuration, selected: list[QueueItem], key: str) -> None:
    st.caption("Each becomes an unlabeled pair with the correction as its draft answer (the model's answer when there is "
               "none), governed by its source's tags. An expert approves it in LABEL before any training.")
    items, free = curation.with_source_item(selected)
    if free and items:
        st.caption(f"{len(free)} of them were free prompts (no sheet item, so no source or governance): they stay in the queue.")
    with shown_errors():
        items = items or free  # only free prompts: the service says why they cannot become pairs
        sheets = curation.training_sheets_for(items)
        into = st.radio("Into", [EXISTING_SHEET, NEW_SHEET] if sheets else [NEW_SHEET], horizontal=True, key=f"{key}_into")
        if into == EXISTING_SHEET:
            picked = st.selectbox("Training Sheet", sheets, format_func=lambda t: t.name, key=f"{key}_sheet")
            name = None
        else:
            picked, name = None, st.text_input("New Training Sheet name", key=f"{key}_new_name")
        if st.button("Add to Training Sheet", type="primary", icon=":material/playlist_add:", key=f"{key}_add"):
            added = curation.add_to_training_sheet(items, training_sheet_id=picked.id if picked else None, new_name=name)
            flash(f"{added.pair_count} pair(s) added to {added.training_sheet.name}: "
                  f"[review them in LABEL](label?training_sheet={added.training_sheet.id}).")
            st.rerun()


def _update_label(curation: FeedbackCuration, lead: QueueItem, key: str) -> None:
    st.caption("When the source item's label was wrong: the correction becomes the label's next version "
               "(its history keeps who changed it and when; its usage constraints stay).")
    if lead.item_ref is None:
        st.info("This answer was not given to a sheet item, so it has no canonical label.")
        return
    data = st.text_area(f"Label of {lead.item_ref}", value=lead.correction or "", key=f"{key}_label_{lead.id}", height=68)
    if st.button("Update canonical label", icon=":material/verified:", key=f"{key}_update_label"):
        with shown_errors():
            version = curation.update_canonical_label(lead, data)
            flash(f"The label of {lead.item_ref} is now version {version}.")
            st.rerun()


def _flag_or_dismiss(curation: FeedbackCuration, items: list[QueueItem], key: str) -> None:
    note = st.text_input("Note for the senior expert", key=f"{key}_note", placeholder="What looks suspicious?")
    flag, dismiss = st.columns(2)
    if flag.button("Flag for senior expert", icon=":material/flag:", key=f"{key}_flag"):
        with shown_errors():
            curation.flag(items, note)
            flash(f"{len(items)} item(s) flagged for a senior expert.")
            st.rerun()
    if dismiss.button("Dismiss", icon=":material/close:", key=f"{key}_dismiss"):
        with shown_errors():
            curation.dismiss(items)
            flash(f"{len(items)} item(s) dismissed.")
            st.rerun()
