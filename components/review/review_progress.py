"""The progress block of a Training Sheet under review, and who reviewed how much."""

from __future__ import annotations

import streamlit as st

from services.core.domain.qa_pair import PairCounts
from services.core.domain.review import ReviewerCount


def tree(counts: PairCounts) -> str:
    """The spec's progress block, as text, with branches that add up: labeled = pre-approved +
    approved in review; needs review = unlabeled + rejected + flagged; the two sum to the total."""
    labeled = [f"Pre-approved (from canonical labels): {counts.canonical:,}"]
    if counts.from_source_column:
        labeled.append(f"Pre-approved (from the trusted source column): {counts.from_source_column:,}")
    labeled.append(f"Approved in review: {counts.approved_in_review:,}")
    return "\n".join(
        [
            f"Progress: {counts.labeled:,} / {counts.total:,} labeled",
            "",
            f"├─ Labeled: {counts.labeled:,}",
            *(f"│  {'└' if i == len(labeled) - 1 else '├'}─ {line}" for i, line in enumerate(labeled)),
            f"└─ Needs review: {counts.needs_review:,}",
            f"   ├─ Unlabeled: {counts.unlabeled:,}",
            f"   ├─ Rejected: {counts.rejected:,}",
            f"   └─ Flagged: {counts.flagged:,}",
        ]
    )


def show(counts: PairCounts, reviewers: list[ReviewerCount]) -> None:
    left, right = st.columns([3, 2])
    with left:
        st.progress(counts.labeled / counts.total if counts.total else 0.0)
        st.code(tree(counts), language=None)
    with right:
        if not reviewers:
            st.caption("Nobody has reviewed a pair of this Training Sheet yet.")
        else:
            st.caption("Reviewed by")
            st.dataframe(
                {
                    "Reviewer": [r.reviewer for r in reviewers],
                    "Approved": [r.labeled for r in reviewers],
                    "Rejected": [r.rejected for r in reviewers],
                    "Flagged": [r.flagged for r in reviewers],
                },
                hide_index=True, width="stretch",
            )
