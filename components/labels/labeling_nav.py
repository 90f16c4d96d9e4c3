"""Moving between items while labeling: back to the grid, Previous, Skip and Next, with shortcuts."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from services.labels.labeling_session import Step

PREVIOUS_SHORTCUT, SKIP_SHORTCUT, NEXT_SHORTCUT = "Alt+P", "Alt+S", "Alt+N"
BACK = "back"  # to the item grid


def show(item_ref: str, status: str, key: str) -> Step | Literal["back"] | None:
    chosen: Step | Literal["back"] | None = None
    with st.container(horizontal=True, vertical_alignment="center"):
        if st.button("All items", key=f"{key}_back", icon=":material/grid_view:"):
            chosen = BACK
        if st.button("Previous", key=f"{key}_previous", icon=":material/arrow_back:", shortcut=PREVIOUS_SHORTCUT):
            chosen = Step.PREVIOUS
        if st.button("Skip", key=f"{key}_skip", icon=":material/skip_next:", shortcut=SKIP_SHORTCUT,
                     help="Leave this item as it is and go to the next unlabeled one"):
            chosen = Step.SKIP
        if st.button("Next", key=f"{key}_next", icon=":material/arrow_forward:", shortcut=NEXT_SHORTCUT):
            chosen = Step.NEXT
        st.markdown(f"**{item_ref}** · {status}")
    return chosen
