"""Export a sheet's canonical labels as JSONL; import a CSV or JSONL file after reading its validation report."""

from __future__ import annotations

import re

import streamlit as st

from components.feedback import flash, shown_errors
from services.labels.import_export import (
    EXPORT_ONLY_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    ImportResult,
    LabelImportExport,
    ValidationReport,
)


def show(transfer: LabelImportExport, sheet_name: str, label_type: str, key: str) -> None:
    """Export and import, each in its own expander; an import is applied here and reported after the rerun."""
    with st.expander("Export labels", icon=":material/download:"):
        show_export(transfer, sheet_name, label_type, f"{key}_export")
    with st.expander("Import labels", icon=":material/upload:"):
        request = show_import(transfer, f"{key}_import")
        if request is not None:
            with shown_errors():
                flash(result_message(transfer.apply(*request)))
                st.rerun()


def show_export(transfer: LabelImportExport, sheet_name: str, label_type: str, key: str) -> None:
    scope = st.radio("Labels to export", ["this label type", "every label type"], horizontal=True, key=f"{key}_scope")
    chosen = label_type if scope == "this label type" else None
    data = transfer.export_jsonl(chosen)
    stem = re.sub(r"[^a-z0-9]+", "_", sheet_name.lower()).strip("_") or "sheet"
    name = f"{stem}_{chosen or 'all'}_labels.jsonl"
    lines = data.count(b"\n")
    st.download_button(f"Download {lines:,} label(s) as JSONL", data, file_name=name,
                       mime="application/x-ndjson", icon=":material/download:", key=f"{key}_download")


def show_import(transfer: LabelImportExport, key: str) -> tuple[ValidationReport, bool] | None:
    """The upload and its report; returns (report, only_valid) when the person asks to import."""
    st.caption(
        f"CSV or JSONL with {', '.join(REQUIRED_COLUMNS)} and either label_data (a JSON object) or one column per "
        f"field of the label type; optional: {', '.join(c for c in OPTIONAL_COLUMNS if c != 'label_data')}. "
        f"An export imports back as it is ({', '.join(EXPORT_ONLY_COLUMNS[:3])}, … are ignored). Nothing is written "
        "until you import."
    )
    upload = st.file_uploader("Labels file", type=["csv", "jsonl", "ndjson", "json"], key=f"{key}_file")
    if upload is None:
        return None
    report = transfer.check(upload.getvalue(), upload.name)
    _report(report)
    if report.ok:
        if st.button(f"Import {len(report.valid):,} label(s)", type="primary", key=f"{key}_go", icon=":material/upload:"):
            return report, False
    elif report.valid and st.button(
        f"Import only the {len(report.valid):,} valid row(s)", key=f"{key}_valid_only", icon=":material/rule:"
    ):
        return report, True
    return None


def _report(report: ValidationReport) -> None:
    if report.ok:
        st.success(f"{report.file_name}: {report.rows_read:,} row(s), all valid.", icon=":material/check_circle:")
        return
    st.error(
        f"{report.file_name}: {len(report.issues):,} problem(s) in {report.rows_with_errors:,} row(s); "
        f"{len(report.valid):,} row(s) are valid. Nothing is imported from a file with errors unless you choose its valid rows.",
        icon=":material/error:",
    )
    st.dataframe(
        {"Row": [i.row for i in report.issues], "Item": [i.item_ref for i in report.issues], "Problem": [i.error for i in report.issues]},
        hide_index=True, width="stretch",
    )


def result_message(result: ImportResult) -> str:
    parts = [f"{result.created:,} created", f"{result.updated:,} updated", f"{result.unchanged:,} unchanged"]
    if result.skipped:
        parts.append(f"{result.skipped:,} row(s) with errors skipped")
    if result.conflicts:
        parts.append(f"{len(result.conflicts):,} changed by someone else meanwhile and left as they are")
    return "Imported labels: " + ", ".join(parts) + "."
