"""The first JSONL lines of an export, exactly as they will be written."""

from __future__ import annotations

import streamlit as st

from services.train.exports import PreviewLine


def show(lines: list[PreviewLine]) -> None:
    if not lines:
        st.info("No pair would be written.")
        return
    for line in lines:
        copies = f" · written {line.copies}×" if line.copies > 1 else ""
        st.caption(f"{line.split.value}.jsonl · pair {line.qa_pair_id}{copies}")
        st.code(line.line, language="json", wrap_lines=True)
