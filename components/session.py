"""The workbench for the person using this browser session."""

from __future__ import annotations

import streamlit as st

from components.demo_status import build_demo_with_status
from services.core.errors import UnavailableError
from services.core.workbench import MissingIdentityError, Workbench, open_workbench, session_cache_key
from services.demo import demo_pending
from services.demo.trained_model import start_demo_training_in_background


@st.cache_resource(show_spinner="Opening the workbench…", max_entries=256)
def _open(cache_key: str, _headers: dict[str, str]) -> Workbench:
    # Keyed by who the connection acts for (email + token digest), never by nothing:
    # a zero-argument cached opener would serve one user's connection to everyone.
    return open_workbench(headers=_headers)


def workbench() -> Workbench:
    """The workbench acting for this session's user. On Databricks without a forwarded identity,
    a page saying so (the app acts for nobody it cannot name); when the store cannot be opened,
    the page says why and stops (nothing is cached, so the next rerun tries again). An empty
    local store gets the demo data first, its steps shown as they run (outside the cache, so the
    status is not replayed on later runs), then the demo model starts training in the background."""
    headers = dict(st.context.headers or {})
    try:
        key = session_cache_key(headers)
    except MissingIdentityError as error:
        st.error(str(error), icon=":material/no_accounts:")
        st.stop()
    try:
        opened = _open(key, headers)
    except UnavailableError as error:
        st.error(str(error), icon=":material/lock:")
        st.stop()
    if demo_pending(opened):
        build_demo_with_status(opened)
    start_demo_training_in_background(opened)  # once per store and process; never waits
    return opened
