"""A sheet's items as cards: the joined row beside a render of its PDF or image."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import streamlit as st

from components import source_preview
from services.core.domain.sheet import Sheet
from services.core.workbench import Workbench
from services.data.sheet_items import PARSED_TEXT_COLUMN, SheetItem
from services.data.sheets import SheetService

PAGE_SIZE = 12  # cards per page: four rows of three, each with a render
CARD_COLUMNS = 3
FIELDS_ON_CARD = 12  # a telemetry reading's every sensor value fits; long OCR text stays off the card
LONG_TEXT = 120  # characters; longer values (OCR text) belong to the file viewer, not a card
PARSED_TEXT_SHOWN = 4000  # characters of a parsed document on its card; the whole text is the column


def show(wb: Workbench, service: SheetService, sheet: Sheet, key: str = "sheet_preview") -> None:
    page_key = f"{key}_{sheet.id}_page"
    page = st.session_state.get(page_key, 0)
    result = service.items(sheet, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-result.total // PAGE_SIZE))
    st.markdown(f"**{result.total:,} items** · page {page + 1} of {pages:,}")
    for problem in result.volume_problems:
        st.warning(problem, icon=":material/link_off:")
    for start in range(0, len(result.items), CARD_COLUMNS):
        for column, item in zip(st.columns(CARD_COLUMNS), result.items[start : start + CARD_COLUMNS], strict=False):
            with column.container(border=True):
                _card(wb, item, expects_files=bool(sheet.volume_sources))
    previous, _, following = st.columns([1, 4, 1])
    if previous.button("◀ Previous", key=f"{page_key}_prev", disabled=page == 0):
        st.session_state[page_key] = page - 1
        st.rerun()
    if following.button("Next ▶", key=f"{page_key}_next", disabled=page + 1 >= pages):
        st.session_state[page_key] = page + 1
        st.rerun()


def _card(wb: Workbench, item: SheetItem, expects_files: bool) -> None:
    st.markdown(f"**{item.item_ref}**")
    for media in item.media[:1]:
        source_preview.thumbnail(wb, media)
    if expects_files and not item.media:
        st.caption("No file in the sheet's volumes for this item.")
    st.table(fields_frame(item.fields))
    parsed = item.fields.get(PARSED_TEXT_COLUMN)
    if isinstance(parsed, str) and parsed:
        with st.expander(f"Parsed text · {len(parsed):,} characters", icon=":material/article:"):
            st.text(parsed[:PARSED_TEXT_SHOWN] + ("…" if len(parsed) > PARSED_TEXT_SHOWN else ""))


def fields_frame(fields: dict[str, object]) -> pd.DataFrame:
    """The row's short fields as a two-column table, numbers and dates written out for reading."""
    shown = [(name, _readable(value)) for name, value in fields.items() if not (isinstance(value, str) and len(value) >= LONG_TEXT)]
    return pd.DataFrame(shown[:FIELDS_ON_CARD], columns=["Field", "Value"]).set_index("Field")


def _readable(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, datetime):  # pandas Timestamps too
        return f"{value:%Y-%m-%d}" if (value.hour, value.minute, value.second) == (0, 0, 0) else f"{value:%Y-%m-%d %H:%M}"
    return str(value)

