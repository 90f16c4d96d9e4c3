"""Home: the open alerts, each a line linking to MONITOR; nothing when none is open."""

from __future__ import annotations

import streamlit as st

from components.monitor.alerts import show_open
from services.core.workbench import Workbench
from services.monitor.alert_events import AlertEventsStore
from services.monitor.alert_records import AlertStatus


def show(workbench: Workbench) -> None:
    events = AlertEventsStore(workbench).events(AlertStatus.OPEN)
    if events:
        show_open(events)
        st.page_link("pages/monitor.py", label=f"{len(events)} open alert(s): see MONITOR", icon=":material/monitoring:")
