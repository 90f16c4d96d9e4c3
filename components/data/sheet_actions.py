"""Edit, duplicate and delete for one sheet."""

from __future__ import annotations

import streamlit as st

from components.data import sheet_form, sheet_list
from components.feedback import flash, shown_errors
from services.core.domain.sheet import Sheet
from services.core.workbench import Workbench
from services.data.sheets import SheetService


def show(wb: Workbench, service: SheetService, sheet: Sheet) -> None:
    edit, duplicate, delete = st.columns([1, 1, 1])
    if duplicate.button("Duplicate", key=f"dup_{sheet.id}", icon=":material/content_copy:"):
        with shown_errors():
            copy = service.duplicate(sheet.id)
            sheet_list.select(copy.id)
            flash(f"Created '{copy.name}'.")
            st.rerun()
    if delete.button("Delete", key=f"del_{sheet.id}", icon=":material/delete:"):
        _confirm_delete(service, sheet)
    if edit.toggle("Edit", key=f"edit_{sheet.id}"):
        with st.container(border=True):
            draft = sheet_form.show(wb, f"edit_{sheet.id}_{sheet.row_version}", sheet.as_draft(), "Save changes")
            if draft is not None:
                with shown_errors():
                    service.update(sheet.id, draft, read_version=sheet.row_version)
                    st.session_state[f"edit_{sheet.id}"] = False
                    flash(f"Saved '{draft.name}'.")
                    st.rerun()


@st.dialog("Delete sheet")
def _confirm_delete(service: SheetService, sheet: Sheet) -> None:
    st.write(f"Delete **{sheet.name}**? The Unity Catalog data it points at is not touched.")
    if st.button("Delete sheet", type="primary", key=f"confirm_del_{sheet.id}"):
        with shown_errors():
            service.delete(sheet.id)
            sheet_list.select(None)
            flash(f"Deleted '{sheet.name}'.")
            st.rerun()
