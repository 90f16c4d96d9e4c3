"""The progress block of a Training Sheet under review, and who reviewed how much."""

from __future__ import annotations

import streamlit as st

from services.core.domain.qa_pair import PairCounts
from services.core.domain.review import ReviewerCount

REVIEWERS_NAMED = 4  # the busiest reviewers, named beside the progress; the rest counted


def branches(counts: PairCounts) -> tuple[str, str]:
    """The spec's progress block as two halves of one tree, with branches that add up: labeled =
    pre-approved + approved in review; needs review = unlabeled + rejected + flagged; the two sum
    to the total."""
    labeled = [f"Pre-approved (from canonical labels): {counts.canonical:,}"]
    if counts.from_source_column:
        labeled.append(f"Pre-approved (from the trusted source column): {counts.from_source_column:,}")
    labeled.append(f"Approved in review: {counts.approved_in_review:,}")
    first = [
        f"Progress: {counts.labeled:,} / {counts.total:,} labeled",
        f"├─ Labeled: {counts.labeled:,}",
        *(f"│  {'└' if i == len(labeled) - 1 else '├'}─ {line}" for i, line in enumerate(labeled)),
    ]
    second = [
        f"└─ Needs review: {counts.needs_review:,}",
        f"   ├─ Unlabeled: {counts.unlabeled:,}",
        f"   ├─ Rejected: {counts.rejected:,}",
        f"   └─ Flagged: {counts.flagged:,}",
    ]
    return "\n".join(first), "\n".join(second)


def tree(counts: PairCounts) -> str:
    """The whole progress block as text."""
    return "\n".join(branches(counts))


def show(counts: PairCounts, reviewers: list[ReviewerCount]) -> None:
    """Side by side, so the review card below starts high on the page."""
    labeled, needs_review = branches(counts)
    left, middle, right = st.columns([6, 4, 3])
    left.code(labeled, language=None)
    middle.code(needs_review, language=None)
    with right:
        st.progress(counts.labeled / counts.total if counts.total else 0.0)
        if not reviewers:
            st.caption("Nobody has reviewed a pair of this Training Sheet yet.")
        else:
            named = "; ".join(
                f"{r.reviewer}: {r.labeled:,} approved, {r.rejected:,} rejected, {r.flagged:,} flagged" for r in reviewers[:REVIEWERS_NAMED]
            )
            more = f"; and {len(reviewers) - REVIEWERS_NAMED:,} more" if len(reviewers) > REVIEWERS_NAMED else ""
            st.caption(f"Reviewed by {named}{more}.")
