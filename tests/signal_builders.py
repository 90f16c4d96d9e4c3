"""Pairs with known content, for the LABEL signals' tests."""

from __future__ import annotations

import json

from services.core.domain.qa_pair import QaPair
from services.core.workbench import Workbench


def set_prompt(wb: Workbench, pair: QaPair, prompt: str, response: str | None = None) -> None:
    """The pair's last user message (and, given, its response) replaced, as an edit would."""
    messages = [{"role": m.role, "content": m.content} for m in pair.messages]
    user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    messages[user]["content"] = prompt
    if response is not None and messages[-1]["role"] == "assistant":
        messages[-1]["content"] = response
    wb.backend.engine.execute(
        f"UPDATE {wb.table('qa_pairs')} SET messages = :messages, row_version = row_version + 1 WHERE id = :id",
        {"id": pair.id, "messages": json.dumps(messages)},
    )
