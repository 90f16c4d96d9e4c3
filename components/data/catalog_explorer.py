"""Browsing Unity Catalog: catalogs → schemas → tables (columns, rows, tags, preview) and volumes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.feedback import shown_errors
from components.governance_badges import tag_badges
from services.core.workbench import Workbench
from services.data import catalog_exploration as explore


def show(wb: Workbench, key: str = "explorer") -> None:
    left, middle = st.columns(2)
    catalogs = explore.catalogs(wb)
    catalog = left.selectbox("Catalog", catalogs, key=f"{key}_catalog")
    schema = middle.selectbox("Schema", explore.schemas(wb, catalog) if catalog else [], key=f"{key}_schema")
    if not (catalog and schema):
        st.info("No catalogs or schemas are visible to you.")
        return
    tables_tab, volumes_tab = st.tabs(["Tables", "Volumes"])
    with tables_tab:
        _tables(wb, catalog, schema, key)
    with volumes_tab:
        _volumes(wb, catalog, schema, key)


def _tables(wb: Workbench, catalog: str, schema: str, key: str) -> None:
    tables = explore.tables(wb, catalog, schema)
    if not tables:
        st.info(f"{catalog}.{schema} has no tables.")
        return
    name = st.selectbox("Table", [t.name for t in tables], key=f"{key}_table")
    with shown_errors():
        details = explore.table_details(wb, f"{catalog}.{schema}.{name}")
        st.markdown(f"**{details.info.full_name}** · {details.row_count:,} rows · {len(details.info.columns)} columns")
        tag_badges(details.info.tags)
        if details.unity_catalog_url:
            st.link_button("View in Unity Catalog", details.unity_catalog_url, icon=":material/open_in_new:")
        columns = pd.DataFrame({"Column": [c.name for c in details.info.columns], "Type": [c.type_name for c in details.info.columns]})
        st.dataframe(columns, hide_index=True, width="stretch", height=min(38 + 35 * len(columns), 300))
        st.caption(f"First {len(details.preview)} rows")
        st.dataframe(details.preview, hide_index=True, width="stretch")


def _volumes(wb: Workbench, catalog: str, schema: str, key: str) -> None:
    volumes = explore.volumes(wb, catalog, schema)
    if not volumes:
        st.info(f"{catalog}.{schema} has no volumes.")
        return
    path = st.selectbox("Volume", [v.path for v in volumes], key=f"{key}_volume")
    with shown_errors():
        entries = explore.volume_files(wb, path)
        st.caption(f"{len(entries)} entries shown (at most {explore.VOLUME_LISTING_LIMIT})")
        st.dataframe(
            pd.DataFrame({"Name": [e.name for e in entries], "Size (bytes)": [e.size for e in entries], "Folder": [e.is_directory for e in entries]}),
            hide_index=True, width="stretch",
        )
