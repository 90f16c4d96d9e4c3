"""One page of the filtered review queue as a table; choosing a row opens that pair."""

from __future__ import annotations

import streamlit as st

from components.review import review_actions
from services.core.domain.canonical_label import LabelAuthor
from services.core.domain.qa_pair import QaPair
from services.core.domain.review import QueueFilter
from services.review.queue import ReviewQueue

PAGE_SIZE = 50
EXCERPT = 80  # characters of the response shown in a row


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _labeled_by(author: LabelAuthor | None) -> str:
    if author is None:
        return ""
    return f"{author.by} ({author.at:%Y-%m-%d %H:%M} UTC)" if author.at else author.by


def _chosen(key: str, training_sheet_id: str) -> None:
    event = st.session_state.get(key)
    rows = event.selection.rows if event is not None else []
    ids = st.session_state.get(f"{key}_ids", [])
    if rows and rows[0] < len(ids):
        review_actions.choose(training_sheet_id, ids[rows[0]])


def show(queue: ReviewQueue, training_sheet_id: str, queue_filter: QueueFilter, current: QaPair | None, key: str = "review_queue") -> None:
    position = queue.position(training_sheet_id, queue_filter, current) if current else 0
    page_key = f"{key}_page_{current.id if current else ''}"
    page = int(st.session_state.get(page_key, position // PAGE_SIZE + 1))
    result = queue.page(training_sheet_id, queue_filter, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-result.total // PAGE_SIZE))
    st.markdown(
        f"**{result.total:,} pairs** in this queue ({queue_filter.describe()})"
        + (f" · reviewing **{position + 1:,}** of {result.total:,}" if current and position < result.total else "")
    )
    if not result.pairs:
        return
    table_key = f"{key}_{page}_{current.id if current else ''}"  # a new table when the pair changes: no stale selection
    st.session_state[f"{table_key}_ids"] = [p.id for p in result.pairs]
    authors = queue.labelers(result.pairs)  # pre-approved pairs: who labeled the canonical label they carry
    st.dataframe(
        {
            "#": [p.ordinal for p in result.pairs],
            "Item": [p.item_ref for p in result.pairs],
            "Status": [p.status for p in result.pairs],
            "Mode": [p.labeling_mode + (" · from feedback" if p.feedback_id else "") for p in result.pairs],
            "AI confidence": [p.ai_confidence for p in result.pairs],
            "Response": [_excerpt(p.response) for p in result.pairs],
            "Reviewed by": [p.reviewed_by or "" for p in result.pairs],
            "Pre-approved, labeled by": [_labeled_by(authors.get(p.id)) for p in result.pairs],
        },
        key=table_key, on_select=lambda: _chosen(table_key, training_sheet_id), selection_mode="single-row",
        hide_index=True, width="stretch", height=240,
        column_config={"AI confidence": st.column_config.NumberColumn(format="%.2f")},
    )
    if pages > 1:
        st.number_input(f"Page (of {pages:,})", 1, pages, page, key=page_key, width=160)
