"""Prompt Templates: a library of versioned prompts; draft, test on a sheet, publish, and compare versions."""

import streamlit as st

from components import breadcrumb
from components.feedback import flash, show_flash, shown_errors
from components.session import workbench
from components.templates import (
    template_actions,
    template_details,
    template_editor,
    template_library,
    template_test,
    version_diff,
)
from services.data.sheets import SheetService
from services.example_store.dynamic_few_shot import TemplateFewShot
from services.generate.drafter_choice import configured_chat_model
from services.templates.prompt_templates import TemplateService

wb = workbench()
service = TemplateService(wb)
sheets = SheetService(wb).list()
label_types = service.label_types()

breadcrumb.show()
st.title("Prompt Templates")
st.caption("Reusable prompts, versioned: a published version never changes; editing it makes the next version.")
show_flash()

query = template_library.filters(label_types)
template = service.find(template_library.show(service.list(query.search, query.status, query.label_type)))

with st.expander("New template", expanded=service.count() == 0, icon=":material/add:"):
    draft = template_editor.show("new_template", None, sheets, service.sheet_columns, label_types, "Create draft")
    if draft is not None:
        with template_editor.reporting("new_template"):
            created = service.create(draft)
            template_library.select(created.id)
            flash(f"Created {created.title} as a draft.")
            st.rerun()

if template is None:
    if template_library.selected():
        st.warning("That template does not exist (any more). Pick one from the library.")
    st.stop()

st.subheader(template.title)
action = template_actions.show(template)
if action is not None:
    with shown_errors():
        done = {
            "publish": lambda: service.publish(template),
            "archive": lambda: service.archive(template),
            "duplicate": lambda: service.duplicate(template),
            "new_version": lambda: service.new_version_from(template, action.bump),
        }[action.kind]()
        template_library.select(done.id)
        flash(f"{done.title} is now {done.status.value}.")
        st.rerun()

details_tab, versions_tab, test_tab = st.tabs(["Details", "Versions", "Test on a sheet"])
with details_tab:
    if template.is_draft and st.toggle("Edit draft", key=f"edit_{template.id}"):
        key = f"edit_{template.id}_{template.row_version}"
        draft = template_editor.show(key, template.as_draft(), sheets, service.sheet_columns, label_types)
        if draft is not None:
            with template_editor.reporting(key):
                saved = service.update(template, draft)
                flash(f"Saved {saved.title}.")
                st.rerun()
    else:
        template_details.show(template, {s.id: s.name for s in sheets})

with versions_tab:
    versions = service.versions(template.family_id)
    if picked := version_diff.show_history(versions, template.id, key=f"history_{template.family_id}"):
        template_library.select(picked)
        st.rerun()
    version_diff.show(versions, service.diff, key=f"diff_{template.family_id}")

with test_tab:
    request = template_test.show_picker(sheets, template.source_sheet_id, key=f"test_{template.id}")
    if request is not None:
        with shown_errors():
            model = configured_chat_model(wb, template)  # None on a laptop without a model server
            few_shot = TemplateFewShot.for_template(wb, template).complete  # the examples it retrieves per item
            results = service.test_on_sheet(template, *request, model=model, few_shot=few_shot)
            template_test.show_results(wb, results, model_description=model.describe() if model else None)
