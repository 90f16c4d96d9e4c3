"""VITAL Workbench: the router. Navigation is declared in components/navigation.py."""

import streamlit as st

from components.navigation import PAGES

st.set_page_config(page_title="VITAL Workbench", page_icon=":material/biotech:", layout="wide")

sections: dict[str, list] = {}
for spec in PAGES:
    page = st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=spec.url_path == "home")
    sections.setdefault(spec.section, []).append(page)

st.navigation(sections).run()
