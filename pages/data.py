"""DATA: sheets (pointers to Unity Catalog tables and volumes) and the catalog they point into."""

import streamlit as st

from components import breadcrumb
from components.data import (
    catalog_explorer,
    sheet_actions,
    sheet_details,
    sheet_documents,
    sheet_form,
    sheet_list,
    sheet_preview,
)
from components.feedback import flash, show_flash, shown_errors
from components.session import workbench
from services.data.sheets import SheetService

wb = workbench()
service = SheetService(wb)

breadcrumb.show("DATA")
st.title("Data")
st.caption("A sheet is a named pointer to Unity Catalog data: a table, the volumes holding its files, a filter.")
show_flash()

sheets_tab, catalog_tab = st.tabs(["Sheets", "Browse Unity Catalog"])
with sheets_tab:
    sheets = service.list()
    selected = sheet_list.show(sheets)
    if selected is not None:
        sheet = service.with_tags(selected)
        sheet_details.show(wb, sheet)
        sheet_actions.show(wb, service, sheet)
        sheet_documents.show(wb, service, sheet)
        with shown_errors():
            sheet_preview.show(wb, service, sheet)
    with st.expander("New sheet", expanded=not sheets, icon=":material/add:"):
        draft = sheet_form.show(wb, "new_sheet", submit_label="Create sheet")
        if draft is not None:
            with shown_errors():
                created = service.create(draft)
                sheet_list.select(created.id)
                flash(f"Created '{created.name}' with {created.row_count:,} items.")
                st.rerun()

with catalog_tab:
    catalog_explorer.show(wb)
