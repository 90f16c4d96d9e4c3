"""A template as a reader sees it: settings, prompts, schemas and few-shot examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from services.core.domain.template import SchemaField, Template, TemplateStatus

_STATUS_BADGE = {
    TemplateStatus.DRAFT: ":orange-badge[draft]",
    TemplateStatus.PUBLISHED: ":green-badge[published]",
    TemplateStatus.ARCHIVED: ":gray-badge[archived]",
}


def status_badge(template: Template) -> str:
    return _STATUS_BADGE[template.status]


def show(template: Template, sheet_names: dict[str, str]) -> None:
    facts = [
        status_badge(template),
        f"label type `{template.label_type}`",
        f"model `{template.base_model}`" if template.base_model else "model: the workbench default",
        f"temperature {template.temperature:g}",
        f"max tokens {template.max_tokens:,}",
    ]
    if template.retrieved_examples_k:
        facts.append(f"{template.retrieved_examples_k} retrieved examples per item")
    if template.source_sheet_id:
        facts.append(f"sheet **{sheet_names.get(template.source_sheet_id, 'deleted sheet')}**")
    st.markdown(" · ".join(facts))
    st.caption(_history_line(template))
    if template.description:
        st.write(template.description)
    st.markdown("**System prompt**")
    st.code(template.system_prompt or "(none)", language=None, wrap_lines=True)
    st.markdown("**User prompt**")
    st.code(template.user_prompt_template or "(empty)", language="django", wrap_lines=True)
    inputs, outputs = st.columns(2)
    with inputs:
        _schema("Input schema", template.input_schema)
    with outputs:
        _schema("Output schema", template.output_schema)
    st.markdown(f"**Few-shot examples** ({len(template.examples)})")
    for number, example in enumerate(template.examples, start=1):
        with st.expander(f"Example {number}"):
            st.json(example.input)
            st.code(example.output, language="json", wrap_lines=True)


def _schema(title: str, fields: tuple[SchemaField, ...]) -> None:
    st.markdown(f"**{title}**")
    if not fields:
        st.caption("No fields defined.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Field": [f.name for f in fields],
                "Type": [f.type.value for f in fields],
                "Required": [f.required for f in fields],
                "Choices": [", ".join(f.choices) for f in fields],
                "Description": [f.description for f in fields],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _history_line(template: Template) -> str:
    line = f"Created by {template.created_by} {_when(template.created_at)}"
    if template.updated_at != template.created_at:
        line += f" · updated by {template.updated_by} {_when(template.updated_at)}"
    if template.published_at:
        line += f" · published {_when(template.published_at)}"
    return line


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return f"on {(moment.astimezone(UTC) if moment.tzinfo else moment):%Y-%m-%d %H:%M} UTC"
