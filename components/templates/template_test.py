"""Trying a template on a sheet's first items: the messages sent, and a model's answer when there is one."""

from __future__ import annotations

import streamlit as st

from components.source_preview import attached
from services.core.domain.sheet import Sheet
from services.core.workbench import Workbench
from services.templates.prompt_templates import MAX_TEST_ROWS, TemplateTestResult

DEFAULT_TEST_ROWS = 3


def show_picker(sheets: list[Sheet], default_sheet_id: str | None, key: str) -> tuple[str, int] | None:
    """Returns (sheet id, number of items) when the person asks for a test."""
    if not sheets:
        st.info("Create a sheet on the Data page to test templates on real items.")
        return None
    ids = [s.id for s in sheets]
    names = {s.id: s.name for s in sheets}
    sheet_column, rows_column = st.columns([3, 1])
    sheet_id = sheet_column.selectbox(
        "Sheet", ids, index=ids.index(default_sheet_id) if default_sheet_id in ids else 0,
        format_func=names.__getitem__, key=f"{key}_sheet",
    )
    rows = rows_column.number_input("Items", 1, MAX_TEST_ROWS, DEFAULT_TEST_ROWS, key=f"{key}_rows")
    if st.button("Render on sample items", key=f"{key}_run", icon=":material/play_arrow:"):
        return sheet_id, int(rows)
    return None


def show_results(workbench: Workbench, results: list[TemplateTestResult], model_description: str | None) -> None:
    if model_description is None:
        st.info(
            "No model configured (set WORKBENCH_LLM_BASE_URL, or SERVING_ENDPOINT on Databricks); showing rendered prompts.",
            icon=":material/info:",
        )
    else:
        st.caption(f"Answered by {model_description}")
    if not results:
        st.warning("The sheet has no items to test on.")
    for number, result in enumerate(results):
        with st.expander(f"Item {result.item_ref}", expanded=number == 0):
            attached(workbench, result.media)
            if result.error:
                st.error(result.error, icon=":material/error:")
                continue
            if result.few_shot_example_ids:
                st.caption(f"{len(result.few_shot_example_ids)} examples retrieved from the Example Store for this item: "
                           + ", ".join(result.few_shot_example_ids))
            for message in result.messages:
                with st.chat_message(message.role, avatar=":material/settings:" if message.role == "system" else None):
                    st.text(message.content)
            _answer(result)


def _answer(result: TemplateTestResult) -> None:
    if result.model_error:
        st.error(f"The model did not answer: {result.model_error}", icon=":material/cloud_off:")
    if result.raw_output is None:
        return
    st.markdown("**Model output**")
    st.code(result.raw_output, language=None, wrap_lines=True)
    if result.parsed is None:
        return
    if result.parsed.ok:
        st.success("Matches the output schema.", icon=":material/check_circle:")
    for error in result.parsed.errors:
        st.warning(error, icon=":material/rule:")
    if result.parsed.value is not None:
        st.json(result.parsed.value)
