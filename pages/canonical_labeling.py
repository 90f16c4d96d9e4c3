"""Canonical Labeling Tool (Mode B): experts label a sheet's items directly, once. Every Training
Sheet generated from the sheet with a template of that label type reuses the label, pre-approved.
Deep link: ?sheet=<id>&label_type=<type>&item=<item_ref>."""

import streamlit as st

from components import breadcrumb
from components.feedback import flash, show_flash, shown_errors
from components.labels import (
    item_browser,
    label_form,
    label_history,
    label_source,
    label_transfer,
    labeling_nav,
    labeling_picker,
    labelsets,
)
from components.session import workbench
from services.data.sheets import SheetService
from services.labels.import_export import LabelImportExport
from services.labels.label_schemas import LabelSchemaService, label_data_from_form
from services.labels.labeling_session import LabelingSession, Step

wb = workbench()
sheets = SheetService(wb)

breadcrumb.show()
st.title("Canonical Labeling Tool")
st.caption("Ground truth per item and label type, labeled once: every Training Sheet made from this sheet reuses it, pre-approved.")
show_flash()

if (target := labeling_picker.show(sheets.list(), LabelSchemaService(wb).label_types)) is None:
    st.stop()
session = LabelingSession(wb, sheets.with_tags(target.sheet), target.label_type)
progress = session.progress()
st.progress(progress.fraction, text=f"{progress.labeled:,} / {progress.total:,} labeled for {target.label_type}")
browse_key, ref = f"browse_{target.sheet.id}_{target.label_type}", labeling_picker.item_ref()

if ref is None:
    with shown_errors():
        if opened := item_browser.show(wb, session, session.label_types_on_sheet(), browse_key):
            labeling_picker.open_item(opened)
            st.rerun()
    label_transfer.show(LabelImportExport(wb, session.sheet), target.sheet.name, target.label_type, f"transfer_{target.sheet.id}")
    st.stop()

label, labels, browse = session.label(ref), session.labelsets(ref), item_browser.current_filter(browse_key)
status = f"{target.label_type} v{label.version} by {label.last_modified_by}" if label else f"no {target.label_type} label yet"
if (move := labeling_nav.show(ref, status, f"nav_{browse_key}")) is not None:
    following = None if move == labeling_nav.BACK else session.step(move, ref, browse)
    if following is None and move != labeling_nav.BACK:
        st.toast("No more items that way.", icon=":material/block:")
    else:
        labeling_picker.open_item(following)
        st.rerun()

with shown_errors():
    item, schema, label_id = session.item(ref), session.schema(), session.key(ref).label_id
    form_key, read_version = label_form.opened(label_id, label)
    source_column, form_column = st.columns([3, 2])
    with source_column:
        boxes = label_source.show(wb, session, item, schema, label, labels, key=form_key)
    with form_column, shown_errors():
        if entered := label_form.show(schema, label, session.default_constraints(), form_key, boxes):
            label_form.forget()
            data = label_data_from_form(schema, entered.raw)
            saved = session.save(ref, data, read_version, entered.confidence, entered.notes, entered.constraints)
            flash(f"Saved the {target.label_type} label of {ref} (version {saved.version}).")
            labeling_picker.open_item(session.step(Step.NEXT, ref, browse) or ref)
            st.rerun()

    st.subheader("Labelsets of this item")
    labelsets.show(labels, target.label_type, lambda t: labeling_picker.switch_label_type(target.sheet.id, t), f"sets_{ref}")
    if label is not None:
        st.subheader(f"History of the {target.label_type} label")
        if to_version := label_history.show(label, session.history(label.id), session.audit(label.id), f"history_{label.id}"):
            rolled = session.rollback(label.id, to_version, label.version)
            label_form.forget()
            flash(f"Rolled back to version {to_version}; the label is now version {rolled.version}.")
            st.rerun()
