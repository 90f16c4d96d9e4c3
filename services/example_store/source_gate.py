"""The source half of governance at few-shot time: a source's current Unity Catalog tags.

A pair's stored constraints were fixed when it was generated or reviewed; a tag added to its
source since still binds (invariant 9). So sync and retrieval ask each source sheet's tags now.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.core.domain.governance import Use
from services.core.errors import NotFoundError
from services.core.governance import tag_rule
from services.core.workbench import Workbench
from services.data.sheets import SheetService


def blocked_sources(wb: Workbench, sheet_ids: Iterable[str]) -> dict[str, str]:
    """Sheet id → why its pairs may not be few-shot examples now (absent: they may)."""
    sheets = SheetService(wb)
    blocked: dict[str, str] = {}
    for sheet_id in sorted(set(sheet_ids)):
        try:
            tags = sheets.with_tags(sheets.get(sheet_id)).tags
        except NotFoundError:
            blocked[sheet_id] = "The source sheet no longer exists"  # fails closed
            continue
        rule = tag_rule(tags)
        if rule is not None and not rule.permits(Use.FEW_SHOT):
            blocked[sheet_id] = rule.usage_reason
    return blocked
