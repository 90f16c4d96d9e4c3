"""A template's version history, and a diff between any two of its versions."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from components.templates.template_library import newly_picked
from services.core.domain.template import Template
from services.templates.prompt_templates import FieldDiff

_FIELD_LABELS = {
    "user_prompt_template": "User prompt",
    "system_prompt": "System prompt",
    "input_schema": "Input schema",
    "output_schema": "Output schema",
    "label_type": "Label type",
    "base_model": "Base model",
    "max_tokens": "Max tokens",
    "retrieved_examples_k": "Retrieved examples per item",
    "examples": "Few-shot examples",
    "source_sheet_id": "Source sheet",
}


def show_history(versions: list[Template], current_id: str, key: str) -> str | None:
    """Every version, newest first; returns the id of a version the person clicks."""
    frame = pd.DataFrame(
        {
            "Version": [f"{v.version} (shown)" if v.id == current_id else v.version for v in versions],
            "Status": [v.status.value for v in versions],
            "Updated by": [v.updated_by for v in versions],
            "Updated": [v.updated_at for v in versions],
            "Published": [v.published_at for v in versions],
        }
    )
    event = st.dataframe(frame, key=key, hide_index=True, on_select="rerun", selection_mode="single-row", width="stretch")
    row = newly_picked(event.selection.rows if event is not None else [], key)
    return versions[row].id if row is not None and row < len(versions) else None


def show(versions: list[Template], diff: Callable[[Template, Template], list[FieldDiff]], key: str) -> None:
    if len(versions) < 2:
        st.caption("Only one version so far; a diff appears once there is a second.")
        return
    labels = [f"v{v.version} ({v.status.value})" for v in versions]
    older_column, newer_column = st.columns(2)
    older = older_column.selectbox("From", range(len(versions)), index=1, format_func=labels.__getitem__, key=f"{key}_from")
    newer = newer_column.selectbox("To", range(len(versions)), index=0, format_func=labels.__getitem__, key=f"{key}_to")
    changes = diff(versions[older], versions[newer])
    if not changes:
        st.caption(f"{labels[older]} and {labels[newer]} are identical.")
    show_changes(changes)


def show_changes(changes: list[FieldDiff]) -> None:
    """Each changed field as a unified diff under its label."""
    for change in changes:
        st.markdown(f"**{_FIELD_LABELS.get(change.field, change.field.replace('_', ' ').capitalize())}**")
        st.code(change.diff, language="diff")
