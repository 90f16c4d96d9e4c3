"""The "Canonical Labels" button in every page's header: straight to the Canonical Labeling Tool."""

from __future__ import annotations

import streamlit as st

from components.navigation import PAGES

TOOL_PATH = "pages/canonical_labeling.py"


def show() -> None:
    if not any(p.path == TOOL_PATH for p in PAGES):
        return  # a build without the tool has no button for it
    with st.container(horizontal=True, horizontal_alignment="right"):
        st.page_link(TOOL_PATH, label="Canonical Labels", icon=":material/verified:", help="Label source items directly (Mode B)")
