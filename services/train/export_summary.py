"""The export summary: what the dual gates make of the chosen Training Sheets, in one aggregate."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.core.domain.qa_pair import PairStatus
from services.train.export_records import ExportSummary, GateCounts, ProhibitionReason


def summary_from_rows(rows: list[dict[str, Any]]) -> ExportSummary:
    """Rows of export_sql.summary_sql: pairs by sheet, status, gate results and reason."""
    by_sheet: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_sheet[row["training_sheet_id"]].append(row)
    return ExportSummary(_counts(rows), {sheet: _counts(sheet_rows) for sheet, sheet_rows in sorted(by_sheet.items())})


def _counts(rows: list[dict[str, Any]]) -> GateCounts:
    def total(predicate: Any) -> int:
        return sum(int(r["pairs"]) for r in rows if predicate(r))

    labeled = [r for r in rows if r["status"] == PairStatus.LABELED]
    reasons: dict[tuple[str, str], int] = defaultdict(int)
    for row in labeled:
        if not row["train_ok"]:
            reasons[(row["reason"] or "", row["classification"] or "")] += int(row["pairs"])
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
