"""Turning domain errors into messages on the page (and nothing else)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from services.core.errors import StaleWriteError, WorkbenchError


@contextmanager
def shown_errors() -> Iterator[None]:
    """Run a user action; a domain error becomes an on-page message and the action stops."""
    try:
        yield
    except StaleWriteError as error:
        st.warning(str(error), icon=":material/sync_problem:")
    except WorkbenchError as error:
        st.error(str(error), icon=":material/error:")


def flash(message: str) -> None:
    """A confirmation that survives the rerun an action triggers."""
    st.session_state["_flash"] = message


def show_flash() -> None:
    message = st.session_state.pop("_flash", None)
    if message:
        st.success(message, icon=":material/check_circle:")
