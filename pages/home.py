"""Home: the lifecycle at a glance, with live counts of what exists at each stage."""

import streamlit as st

from components import breadcrumb, demo_model
from components.home import stage_cards
from components.monitor import alerts_home
from components.session import workbench
from services.core.pipeline_summary import pipeline_counts

wb = workbench()
counts = pipeline_counts(wb)

st.title("VITAL Workbench")
st.caption("Governed, expert-approved AI training data: from Unity Catalog to production and back.")
breadcrumb.show(counts={c.stage: c.count for c in counts})
alerts_home.show(wb)
stage_cards.show(counts)
demo_model.show(wb, key="home_demo_model")

backend = "Databricks SQL warehouse + Unity Catalog" if wb.settings.is_databricks else f"embedded store at {wb.settings.home}"
st.caption(f"Signed in as {wb.user.email} · {backend}")
