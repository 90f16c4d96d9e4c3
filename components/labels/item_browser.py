"""The item browser: a grid of a sheet's items (image, PDF first page, or row summary) with
labeled / unlabeled / by-label-type filters; picking an item opens it for labeling."""

from __future__ import annotations

import streamlit as st

from components import source_preview
from services.core.workbench import Workbench
from services.labels.labeling_session import BrowsedItem, BrowseFilter, LabelingSession, StatusFilter

PAGE_SIZE = 12  # cards per page: three rows of four, each with a render
CARD_COLUMNS = 4
_STATUS_LABELS = {StatusFilter.UNLABELED: "Unlabeled", StatusFilter.LABELED: "Labeled", StatusFilter.ALL: "All"}
_ANY = "Any label type"


def current_filter(key: str) -> BrowseFilter:
    """The filter the person chose (Previous/Next in the labeling view move within it)."""
    status = st.session_state.get(f"{key}_status") or StatusFilter.UNLABELED
    holding = st.session_state.get(f"{key}_holding")
    return BrowseFilter(StatusFilter(status), None if holding in (None, _ANY) else holding)


def show(wb: Workbench, session: LabelingSession, label_types_on_sheet: list[str], key: str) -> str | None:
    """The grid; returns the ref of the item the person opened, else None."""
    status_column, holding_column = st.columns([2, 3], vertical_alignment="bottom")
    with status_column:
        st.segmented_control(
            f"Items by {session.label_type} label", list(_STATUS_LABELS), default=StatusFilter.UNLABELED,
            format_func=_STATUS_LABELS.get, key=f"{key}_status", required=True,
        )
    with holding_column:
        st.selectbox("Holding a label of type", [_ANY, *label_types_on_sheet], key=f"{key}_holding")
    browse = current_filter(key)
    page_key = f"{key}_page_{browse.status}_{browse.has_label_type}"
    number = st.session_state.get(page_key, 0)
    page = session.page(browse, number * PAGE_SIZE, PAGE_SIZE)
    pages = max(1, -(-page.total // PAGE_SIZE))
    st.caption(f"{page.total:,} item(s) · page {number + 1} of {pages:,}")
    if not page.items:
        st.info("No items match these filters." if number == 0 else "This page is empty; go back a page.")
    opened = None
    for start in range(0, len(page.items), CARD_COLUMNS):
        for column, item in zip(st.columns(CARD_COLUMNS), page.items[start : start + CARD_COLUMNS], strict=False):
            with column.container(border=True):
                if _card(wb, item, session.label_type, key):
                    opened = item.item_ref
    previous, _, following = st.columns([1, 4, 1])
    if previous.button("◀ Previous page", key=f"{page_key}_prev", disabled=number == 0):
        st.session_state[page_key] = number - 1
        st.rerun()
    if following.button("Next page ▶", key=f"{page_key}_next", disabled=number + 1 >= pages):
        st.session_state[page_key] = number + 1
        st.rerun()
    return opened


def _card(wb: Workbench, item: BrowsedItem, label_type: str, key: str) -> bool:
    st.markdown(f"**{item.item_ref}**")
    if item.preview_kind == "row":
        st.caption(item.summary or "(empty row)")
    else:
        source_preview.thumbnail(wb, item.item.media[0])
    badges = [":green-badge[:material/check: labeled]" if item.labeled else ":gray-badge[unlabeled]"]
    badges += [f":blue-badge[{t}]" for t in item.label_types if t != label_type]
    st.markdown(" ".join(badges))
    return st.button("Label" if not item.labeled else "Open", key=f"{key}_open_{item.item_ref}", width="stretch")
