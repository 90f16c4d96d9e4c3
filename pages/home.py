"""Home: the lifecycle at a glance, with live counts of what exists at each stage."""

import streamlit as st

from components import breadcrumb
from components.session import workbench
from services.pipeline_summary import pipeline_counts

wb = workbench()
counts = pipeline_counts(wb)

st.title("VITAL Workbench")
st.caption("Governed, expert-approved AI training data: from Unity Catalog to production and back.")
breadcrumb.show(counts={c.stage: c.count for c in counts})

st.subheader("Where things stand")
for column, count in zip(st.columns(len(counts)), counts, strict=True):
    column.metric(count.stage, f"{count.count:,}", help=f"{count.count:,} {count.noun}")

backend = "Databricks SQL warehouse + Unity Catalog" if wb.settings.is_databricks else f"embedded store at {wb.settings.home}"
st.caption(f"Signed in as {wb.user.email} · {backend}")
