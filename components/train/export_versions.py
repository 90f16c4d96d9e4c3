"""Export versions: numbered, immutable, each with its files to download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.core.domain.qa_pair import TrainingSheet
from services.train.export_records import ExportVersion
from services.train.exports import MAX_DOWNLOAD_BYTES, ExportService


def show(service: ExportService, versions: list[ExportVersion], names: dict[str, str], key: str) -> ExportVersion | None:
    """Lists the versions; returns the one selected (its downloads are shown below the list)."""
    if not versions:
        st.caption("No export of these Training Sheets yet.")
        return None
    frame = pd.DataFrame({
        "Version": [v.version for v in versions],
        "Training Sheets": [", ".join(names.get(i, i) for i in v.training_sheet_ids) for v in versions],
        "Train pairs": [v.train_count for v in versions],
        "Train lines": [v.train_lines for v in versions],
        "Validation pairs": [v.validation_count for v in versions],
        "Split": [v.split_config.describe() for v in versions],
        "Created": [v.created_at for v in versions],
        "By": [v.created_by for v in versions],
    })
    event = st.dataframe(frame, key=key, hide_index=True, on_select="rerun", selection_mode="single-row", width="stretch")
    chosen = versions[event.selection.rows[0]] if event is not None and event.selection.rows else versions[0]
    _downloads(service, chosen, key)
    return chosen


def _downloads(service: ExportService, version: ExportVersion, key: str) -> None:
    st.caption(f"Version {version.version} · `{version.directory}` · manifest sha256 `{version.manifest_sha256[:16]}…`")
    columns = st.columns(3)
    for column, (label, path) in zip(
        columns, (("train.jsonl", version.train_path), ("validation.jsonl", version.validation_path), ("manifest.json", version.manifest_path)), strict=True
    ):
        with column:
            size = service.file_size(path)
            if size > MAX_DOWNLOAD_BYTES:
                st.caption(f"{label}: {size / 1e6:,.0f} MB, read it on the volume at `{path}`")
                continue
            st.download_button(
                f"{label} ({size / 1e6:,.1f} MB)", data=lambda p=path: service.file_bytes(p), file_name=f"v{version.version}-{label}",
                mime="application/json", key=f"{key}_{version.id}_{label}", icon=":material/download:", on_click="ignore",
            )


def sheet_names(training_sheets: list[TrainingSheet]) -> dict[str, str]:
    return {t.id: t.name for t in training_sheets}
