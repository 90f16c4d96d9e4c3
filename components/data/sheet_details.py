"""What a sheet is: its table, the sources joined to it and how, its filter, its tags, its link."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.governance_badges import tag_badges
from components.text import code
from services.core.domain.sheet import SecondarySource, Sheet, SourceKind
from services.core.workbench import Workbench
from services.data.catalog_exploration import unity_catalog_url

LOCAL_LINK_NOTE = (
    "On Databricks, a **View in Unity Catalog** button here opens this table in Catalog Explorer; "
    "this local store has no workspace to link to."
)


def show(wb: Workbench, sheet: Sheet) -> None:
    st.subheader(sheet.name)
    if sheet.description:
        st.write(sheet.description)
    st.markdown("**Sources**")
    st.table(sources_frame(sheet))
    st.markdown(f"**Filter** · {code(sheet.filter_condition)}" if sheet.filter_condition else "**Filter** · none: every row is an item")
    if sheet.sample_size:
        st.caption(f"Sampled: {sheet.sample_size:,} items.")
    st.markdown("**Tags**" + ("" if sheet.tags else " · none on the primary table"))
    tag_badges(sheet.tags)
    if url := unity_catalog_url(wb, sheet.primary_table):
        st.link_button("View in Unity Catalog", url, icon=":material/open_in_new:")
    else:
        st.caption(LOCAL_LINK_NOTE)


def sources_frame(sheet: Sheet) -> pd.DataFrame:
    """One row per source: the primary table and its item column, then each joined source and its keys."""
    rows = [("Primary table", sheet.primary_table, f"item column {code(sheet.item_ref_column)}")]
    rows += [(_kind(s), s.path, _join(s)) for s in sheet.secondary_sources]
    return pd.DataFrame(rows, columns=["Source", "Path", "Joined on"]).set_index("Source")


def _kind(source: SecondarySource) -> str:
    return "Volume" if source.kind is SourceKind.VOLUME else "Table"


def _join(source: SecondarySource) -> str:
    if source.kind is SourceKind.VOLUME:
        return f"file name = {code(source.join_key)}"
    return f"{code(source.join_key)} = {code(source.target_key or source.join_key)}"
