"""A label's version history (who and when), a diff between any two versions, and rollback.

A rollback writes the old content as a new version, so nothing in the history is ever lost.
"""

from __future__ import annotations

import streamlit as st

from services.core.domain.canonical_label import CanonicalLabel, LabelVersion
from services.labels.canonical_labels import diff_versions
from services.labels.constraint_audit import AuditEntry

_CHANGE_NAMES = {"create": "created", "edit": "edited", "review": "reviewed (Q&A pair)", "rollback": "rolled back", "import": "imported"}


def show(label: CanonicalLabel, history: list[LabelVersion], audit: list[AuditEntry], key: str) -> int | None:
    """The history; returns the version the person chose to roll back to, else None."""
    st.dataframe(
        {
            "Version": [v.version for v in history],
            "Change": [_CHANGE_NAMES.get(v.change_kind, v.change_kind) for v in history],
            "By": [v.modified_by for v in history],
            "When": [v.modified_at for v in history],
            "Confidence": [v.content.confidence for v in history],
            "Label": [_short(v) for v in history],
        },
        hide_index=True, width="stretch", key=f"{key}_table",
    )
    chosen = None
    if len(history) > 1:
        _diff(history, key)
        chosen = _rollback(label, history, key)
    if audit:
        _audit(audit)
    return chosen


def _diff(history: list[LabelVersion], key: str) -> None:
    numbers = [v.version for v in history]
    before_column, after_column = st.columns(2)
    before = before_column.selectbox("Compare version", numbers, index=len(numbers) - 2, key=f"{key}_before")
    after = after_column.selectbox("with version", numbers, index=len(numbers) - 1, key=f"{key}_after")
    by_number = {v.version: v for v in history}
    changes = diff_versions(by_number[before], by_number[after])
    if not changes:
        st.caption(f"Versions {before} and {after} are the same.")
        return
    st.dataframe(
        {"Field": [c.field for c in changes], f"Version {before}": [c.before for c in changes], f"Version {after}": [c.after for c in changes]},
        hide_index=True, width="stretch", key=f"{key}_diff",
    )


def _rollback(label: CanonicalLabel, history: list[LabelVersion], key: str) -> int | None:
    older = [v.version for v in history if v.version != label.version]
    target_column, button_column = st.columns([2, 1], vertical_alignment="bottom")
    target = target_column.selectbox("Roll back to version", older[::-1], key=f"{key}_target")
    if button_column.button(f"Roll back to v{target}", key=f"{key}_rollback", icon=":material/history:"):
        return int(target)
    return None


def _audit(audit: list[AuditEntry]) -> None:
    st.caption("Governance changes")
    st.dataframe(
        {
            "When": [a.modified_at for a in audit], "By": [a.modified_by for a in audit], "Before": [a.before for a in audit],
            "After": [a.after for a in audit], "Reason": [a.reason for a in audit],
        },
        hide_index=True, width="stretch",
    )


def _short(version: LabelVersion) -> str:
    text = ", ".join(f"{k}: {v}" for k, v in version.content.label_data.items())
    return text if len(text) <= 100 else text[:97] + "…"
