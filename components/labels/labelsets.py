"""All labelsets of one item side by side: one card per label type, each with its own governance."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components import usage_constraints
from services.core.domain.canonical_label import CanonicalLabel

PER_ROW = 3


def show(labels: list[CanonicalLabel], current_type: str, on_open: Callable[[str], None], key: str) -> None:
    """The cards; "Open" on another labelset calls `on_open(label_type)` before the rerun."""
    if not labels:
        st.caption("This item has no canonical labels yet.")
        return
    for start in range(0, len(labels), PER_ROW):
        row = labels[start : start + PER_ROW]
        for column, label in zip(st.columns(PER_ROW), row, strict=False):
            with column.container(border=True):
                mark = " · this form" if label.key.label_type == current_type else ""
                st.markdown(f"**{label.key.label_type}**{mark}")
                st.json(label.label_data, expanded=True)
                when = f" · {label.last_modified_at:%Y-%m-%d %H:%M}" if label.last_modified_at else ""
                st.caption(f"v{label.version} · {label.content.confidence} confidence · {label.last_modified_by}{when}")
                usage_constraints.badges(label.constraints)
                if label.key.label_type != current_type:
                    st.button("Open", key=f"{key}_{label.key.label_type}", icon=":material/edit:",
                              on_click=on_open, args=(label.key.label_type,))
