"""The workbench for the person using this browser session."""

from __future__ import annotations

import streamlit as st

from services.core.errors import UnavailableError
from services.core.workbench import MissingIdentityError, Workbench, session_cache_key
from services.demo import open_demo_ready_workbench


@st.cache_resource(show_spinner="Opening the workbench…", max_entries=256)
def _open(cache_key: str, _headers: dict[str, str]) -> Workbench:
    # Keyed by who the connection acts for (email + token digest), never by nothing:
    # a zero-argument cached opener would serve one user's connection to everyone.
    return open_demo_ready_workbench(headers=_headers)


def workbench() -> Workbench:
    """The workbench acting for this session's user. On Databricks without a forwarded identity,
    a page saying so (the app acts for nobody it cannot name); when the store cannot be opened,
    the page says why and stops (nothing is cached, so the next rerun tries again)."""
    headers = dict(st.context.headers or {})
    try:
        key = session_cache_key(headers)
    except MissingIdentityError as error:
        st.error(str(error), icon=":material/no_accounts:")
        st.stop()
    try:
        return _open(key, headers)
    except UnavailableError as error:
        st.error(str(error), icon=":material/lock:")
        st.stop()
