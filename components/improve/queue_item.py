"""One pattern of the queue opened: its lead's request, the model's answer, the correction, the
source item the request was rendered from, and the other requests like it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import source_viewer
from services.core.workbench import Workbench
from services.data.sheet_items import SheetItem
from services.improve.queue import QueueGroup


def show(workbench: Workbench, group: QueueGroup, item: SheetItem | None, key: str) -> None:
    lead = group.lead
    said = f"{lead.value or lead.kind.value} by {lead.created_by} ({lead.origin.value})"
    confidence = "" if lead.confidence is None else f" · confidence {lead.confidence:.2f}"
    st.markdown(f"**{lead.model_id or lead.endpoint_name}** on {lead.endpoint_name} · {said} · "
                f"{lead.created_at:%Y-%m-%d %H:%M}{confidence} · status {lead.status.value}")
    request, answer, correction = st.columns(3)
    request.caption("Request")
    request.code(lead.request, language=None, wrap_lines=True)
    answer.caption("Model's answer")
    answer.code(lead.answer or "(none)", language=None, wrap_lines=True)
    correction.caption("Correction")
    correction.code(lead.correction or "(none given)", language=None, wrap_lines=True)
    if lead.comment:
        st.caption(f"Comment: {lead.comment}")
    if lead.flag_note:
        st.caption(f"Flagged: {lead.flag_note}")
    if len(group.items) > 1:
        with st.expander(f"{len(group.items) - 1} similar request(s) in this pattern"):
            st.dataframe(pd.DataFrame([{"Request": i.request, "Said": i.value or i.kind.value, "Correction": i.correction or "",
                                        "Version": i.model_version, "By": i.created_by} for i in group.items[1:]]), hide_index=True)
    if lead.item_ref is None:
        st.caption("Sent as a free prompt, not from a sheet item: no source to show.")
    elif item is None:
        st.caption(f"Sent from item {lead.item_ref}, which is no longer in its sheet.")
    else:
        st.caption(f"Source: item {item.item_ref} of its sheet")
        source_viewer.show(workbench, item.media, key=f"{key}_source_{lead.id}", fields=item.fields)
