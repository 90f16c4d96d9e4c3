"""Badges for Unity Catalog tags and what they mean for governance."""

from __future__ import annotations

import streamlit as st

_SENSITIVE = {"PHI": "red", "PII": "red", "CONFIDENTIAL": "orange"}


def tag_badges(tags: dict[str, str]) -> None:
    if not tags:
        st.caption("No Unity Catalog tags")
        return
    badges = []
    for name, value in sorted(tags.items()):
        color = _SENSITIVE.get(name.upper(), "gray")
        text = name if value in ("", "true", "True") else f"{name}: {value}"
        badges.append(f":{color}-badge[{text}]")
    st.markdown(" ".join(badges))
