"""The form that applies a published template to a sheet. Returns the request and the action."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from services.core.domain.qa_pair import LabelingMode
from services.core.domain.template import TemplateStatus
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.generate.generation import GenerationRequest
from services.templates.prompt_templates import TemplateService

Action = Literal["preview", "start"]
MODE_LABELS = {
    LabelingMode.AI_GENERATED: "AI-generated (a model or the offline drafter proposes each response)",
    LabelingMode.MANUAL: "Manual (empty responses for an expert to write)",
    LabelingMode.EXISTING_COLUMN: "Existing column (a column of the source holds the answer)",
}


def show(wb: Workbench, key: str) -> tuple[GenerationRequest | None, Action | None]:
    sheets = SheetService(wb)
    templates = TemplateService(wb).list(status=TemplateStatus.PUBLISHED)
    sheet_list = sheets.list()
    if not sheet_list or not templates:
        st.info("Generation needs a sheet (DATA) and a published template (Tools → Prompt Templates).")
        return None, None
    sheet = st.selectbox("Sheet", sheet_list, format_func=lambda s: f"{s.name} · {s.row_count or 0:,} items", key=f"{key}_sheet")
    templates.sort(key=lambda t: (t.source_sheet_id != sheet.id, t.name.lower()))  # the sheet's own templates first
    template = st.selectbox(
        "Published template", templates, format_func=lambda t: f"{t.name} v{t.version} · {t.label_type}", key=f"{key}_template"
    )
    mode = st.radio("Labeling mode", list(MODE_LABELS), format_func=MODE_LABELS.__getitem__, key=f"{key}_mode")
    source_column, trusted = None, False
    if mode == LabelingMode.EXISTING_COLUMN:
        columns = sheets.check_for_reading(sheet).primary.column_names
        source_column = st.selectbox("Column with the answer", columns, key=f"{key}_column")
        trusted = st.checkbox("The column is trusted: mark its answers pre-approved", key=f"{key}_trusted")
    attach_pages = mode == LabelingMode.AI_GENERATED and st.checkbox(
        "Send PDF pages as images (vision models)", key=f"{key}_pdf_pages",
        help="The first pages of each item's PDF go to the model beside the prompt; a text-only model ignores or refuses them.",
    )
    in_warehouse = mode == LabelingMode.AI_GENERATED and st.checkbox(
        "Run in the SQL warehouse with ai_query (one statement)", key=f"{key}_warehouse",
        help="For large sheets: the warehouse calls the template's serving endpoint for every item without a canonical label.",
    )
    name = st.text_input("Training Sheet name (optional)", key=f"{key}_name", placeholder=f"{sheet.name} · {template.name} v{template.version}")
    st.caption(
        f"Items with a canonical **{template.label_type}** label arrive pre-approved, with that label's usage constraints; "
        "the others get constraints from the source's Unity Catalog tags."
    )
    preview, start = st.columns(2)
    action: Action | None = None
    if preview.button("Preview first five pairs", key=f"{key}_preview", icon=":material/visibility:"):
        action = "preview"
    if start.button("Generate Training Sheet", key=f"{key}_start", type="primary", icon=":material/play_arrow:"):
        action = "start"
    request = GenerationRequest(sheet.id, template.id, LabelingMode(mode), name, source_column, trusted, bool(attach_pages), bool(in_warehouse))
    return request, action
