"""VITAL Workbench: the router. Navigation is declared in components/navigation.py."""

from pathlib import Path

import streamlit as st

from components.navigation import PAGES

# A file of ours, served by this server: a ":material/…:" page icon makes every browser fetch
# the icon from a public font host, which fails offline and leaks each page view.
PAGE_ICON = str(Path(__file__).parent / "assets" / "page_icon.png")

st.set_page_config(page_title="VITAL Workbench", page_icon=PAGE_ICON, layout="wide")

sections: dict[str, list] = {}
for spec in PAGES:
    page = st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=spec.url_path == "home")
    sections.setdefault(spec.section, []).append(page)

st.navigation(sections).run()
