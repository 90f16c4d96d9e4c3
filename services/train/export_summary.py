"""The export summary: what the dual gates make of the chosen Training Sheets, in one aggregate.

A labeled pair the training gate keeps out is counted under why: its stored constraints as its
source's current tags tighten them (`ExportGovernance.effective`), so a source tagged PHI after
generation shows as "Source tagged PHI in Unity Catalog", and one whose tags cannot be read says so.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import PairStatus
from services.train.export_governance import ExportGovernance
from services.train.export_records import ExportSummary, GateCounts, ProhibitionReason
from services.train.export_sql import LIST_SEPARATOR


def summary_from_rows(rows: list[dict[str, Any]], governance: ExportGovernance) -> ExportSummary:
    """Rows of export_sql.summary_sql: pairs by sheet, status, gate results and stored constraints."""
    by_sheet: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_sheet[row["training_sheet_id"]].append(row)
    return ExportSummary(_counts(rows, governance), {sheet: _counts(sheet_rows, governance) for sheet, sheet_rows in sorted(by_sheet.items())})


def _why(row: dict[str, Any], governance: ExportGovernance) -> tuple[str, str]:
    """The reason and classification of a labeled pair the training gate keeps out."""
    stored = UsageConstraints(
        tuple(filter(None, (row["allowed"] or "").split(LIST_SEPARATOR))), tuple(filter(None, (row["prohibited"] or "").split(LIST_SEPARATOR))),
        row["reason"] or "", row["classification"] or "",
    )
    effective = governance.effective(row["training_sheet_id"], stored)
    return effective.usage_reason, str(effective.data_classification or "")


def _counts(rows: list[dict[str, Any]], governance: ExportGovernance) -> GateCounts:
    def total(predicate: Any) -> int:
        return sum(int(r["pairs"]) for r in rows if predicate(r))

    reasons: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        if row["status"] == PairStatus.LABELED and not row["train_ok"]:
            reasons[_why(row, governance)] += int(row["pairs"])
    return GateCounts(
        total=total(lambda r: True),
        labeled=total(lambda r: r["status"] == PairStatus.LABELED),
        training_allowed=total(lambda r: r["train_ok"]),
        validation_allowed=total(lambda r: r["validation_ok"]),
        unlabeled=total(lambda r: r["status"] == PairStatus.UNLABELED),
        rejected=total(lambda r: r["status"] == PairStatus.REJECTED),
        flagged=total(lambda r: r["status"] == PairStatus.FLAGGED),
        reasons=tuple(
            ProhibitionReason(reason, classification, n)
            for (reason, classification), n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
    )
