"""A sheet's documents: upload files into its volumes, parse them as a job, see what failed and why."""

from __future__ import annotations

import streamlit as st

from components import job_progress
from components.feedback import flash, shown_errors
from services.core.domain.sheet import Sheet
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.data.documents_store import DocumentsStore
from services.data.sheets import SheetService
from services.data.volume_parsing import VolumeParsing
from services.data.volume_uploads import UPLOAD_EXTENSIONS, upload


def show(wb: Workbench, service: SheetService, sheet: Sheet) -> None:
    for index, source in enumerate(sheet.volume_sources):
        with st.container(border=True):
            st.markdown(f"**Documents in** `{source.path}`")
            _parsing(wb, source.path, key=f"docs_{sheet.id}_{index}")
            _uploads(wb, service, sheet, source.path, key=f"upload_{sheet.id}_{index}")


def _parsing(wb: Workbench, volume: str, key: str) -> None:
    summary = DocumentsStore(wb).summary(volume)
    st.caption(
        f"{summary.parsed:,} PDFs parsed ({summary.pages:,} pages, {summary.ocr_pages:,} read by OCR) · "
        f"{summary.failed:,} could not be read. Each item's text is the sheet column `parsed_text`, "
        "which a template can use as `{{ parsed_text }}`."
    )
    parsing = VolumeParsing(wb)
    if st.button("Parse documents", key=f"{key}_parse", icon=":material/document_scanner:"):
        with shown_errors():
            parsing.start(volume)
            st.rerun()
    with shown_errors():
        latest = parsing.latest_job(volume)
        if latest is not None:
            job_progress.show(JobRunner(wb), latest.id, key=f"{key}_job")
    failed = [f for f in DocumentsStore(wb).files(volume) if f.status == "failed"]
    if failed:
        with st.expander(f"{len(failed):,} files could not be read", icon=":material/error:"):
            for file in failed:
                st.markdown(f"- `{file.file_path.rsplit('/', 1)[-1]}`: {file.error}")


def _uploads(wb: Workbench, service: SheetService, sheet: Sheet, volume: str, key: str) -> None:
    generation = st.session_state.get(f"{key}_generation", 0)  # a new key empties the uploader after a full upload
    files = st.file_uploader(
        "Upload files into this volume", type=sorted(e.lstrip(".") for e in UPLOAD_EXTENSIONS),
        accept_multiple_files=True, key=f"{key}_{generation}",
        help="A file is named after its item (INV-0001.pdf joins item INV-0001); an existing file is never replaced.",
    )
    if not files or not st.button("Upload", key=f"{key}_go", icon=":material/upload:"):
        return
    outcomes = [upload(wb, volume, f.name, f.getvalue()) for f in files]
    for outcome in outcomes:
        if not outcome.ok:
            st.error(outcome.error, icon=":material/error:")
    written = sum(o.ok for o in outcomes)
    if not written:
        return
    with shown_errors():
        refreshed = service.refresh_count(sheet)
        message = (
            f"Uploaded {written:,} of {len(outcomes):,} files; the sheet has {refreshed.row_count:,} items. "
            "Parse documents reads the new PDFs."
        )
        if written < len(outcomes):
            st.success(message, icon=":material/check_circle:")
            return
        flash(message)
        st.session_state[f"{key}_generation"] = generation + 1
        st.rerun()
