"""What sync, upload and search did, in words and small tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.example_store.records import Example, ExampleSource, SearchHit, SyncReport, UploadReport


def sync_report(report: SyncReport) -> None:
    if report.blocked_reason:
        st.warning(f"This Training Sheet's source may not be used for few-shot examples now: {report.blocked_reason}.", icon=":material/block:")
    st.success(
        f"Sync: {len(report.added)} added, {len(report.updated)} refreshed, {report.unchanged} unchanged, {len(report.removed)} removed.",
        icon=":material/sync:",
    )
    if report.removed:
        st.caption("Removed because their pair no longer passes the few-shot gate:")
        st.dataframe(pd.DataFrame({"Pair": [r.source_qa_pair_id for r in report.removed], "Why": [r.reason for r in report.removed]}),
                     hide_index=True, key="sync_removed")


def upload_report(report: UploadReport) -> None:
    st.success(f"Added {len(report.added)} example(s).", icon=":material/upload:")
    if report.problems:
        st.warning(f"{len(report.problems)} row(s) were not added; fix them and upload those rows again.", icon=":material/warning:")
        st.dataframe(pd.DataFrame({"Row": [p.row for p in report.problems], "Problem": [p.message for p in report.problems]}),
                     hide_index=True, key="upload_problems")


def search_results(hits: list[SearchHit]) -> None:
    if not hits:
        st.info("No example passes the filters, the score threshold and the few-shot gate for this query.")
        return
    st.dataframe(pd.DataFrame({
        "Score": [round(h.score, 3) for h in hits], "Input": [h.example.input for h in hits],
        "Expected output": [h.example.expected_output for h in hits], "Function": [h.example.function_name or "" for h in hits],
        "Domain": [h.example.domain or "" for h in hits], "Quality": [h.example.quality_score for h in hits],
    }), hide_index=True, key="search_results")


def details(example: Example, source: ExampleSource | None) -> None:
    st.markdown(f"**Input**\n\n{example.input}")
    st.code(example.expected_output, language="json" if example.expected_output.startswith(("{", "[")) else None)
    if example.explanation:
        st.caption(example.explanation)
    quality = "unrated" if example.quality_score is None else f"{example.quality_score:.2f}"
    effect = "not measured yet" if example.effectiveness_score is None else f"{example.effectiveness_score:+.2f}"
    st.caption(f"Quality {quality} · used {example.usage_count} time(s) · effectiveness {effect} · "
               f"by {example.created_by} · embedded with {example.embedding_model}")
    if example.source_qa_pair_id and source is None:
        st.warning("Synced from a pair that no longer exists; retrieval leaves it out.", icon=":material/link_off:")
    elif source is not None:
        st.caption(f"From pair `{source.item_ref}` of Training Sheet “{source.training_sheet_name}” (status {source.status}).")
        if not source.usable_now:
            st.warning(f"Retrieval leaves this example out: {source.why_not}. The next sync removes it.", icon=":material/block:")
