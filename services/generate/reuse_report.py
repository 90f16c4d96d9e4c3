"""What a generation reused: the pairs that arrived pre-approved from canonical labels, by item
and by who labeled them, and which of those labels are new since the last Training Sheet from
the same sheet (the demo's "label once, reuse everywhere" moment, shown without searching)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.core.domain.governance import UsageConstraints, Use
from services.core.domain.qa_pair import TrainingSheet
from services.core.errors import NotFoundError
from services.core.governance import usable_for, why_not_usable
from services.core.workbench import Workbench
from services.generate.qa_pairs_store import QaPairsStore
from services.generate.training_sheets_store import TrainingSheetsStore

LISTED = 500  # pre-approved pairs listed at most; the counts are exact beyond it


@dataclass(frozen=True)
class PreApproved:
    pair_id: str
    item_ref: str
    label_type: str
    canonical_label_id: str
    status: str  # pre-approved pairs arrive labeled; a reviewer may have rejected or flagged one since
    constraints: UsageConstraints
    labeled_by: str  # who made the canonical label what it is now
    labeled_at: datetime | None

    @property
    def training_allowed(self) -> bool:
        return usable_for(self.status, self.constraints, Use.TRAINING)

    @property
    def why_not_for_training(self) -> str:
        return why_not_usable(self.status, self.constraints, Use.TRAINING)


@dataclass(frozen=True)
class ReuseSummary:
    training_sheet: TrainingSheet
    pre_approved: int  # pairs that arrived pre-approved from canonical labels
    previous: TrainingSheet | None  # the last Training Sheet made from the same sheet before this one
    labeled_since: int  # of the pre-approved, those whose label was made or changed after `previous`
    recent: list[PreApproved]  # those pairs, the most recently labeled first (at most LISTED)

    @property
    def total(self) -> int:
        return self.training_sheet.counts.total


def _pre_approved(row: dict[str, Any]) -> PreApproved:
    constraints = UsageConstraints(
        tuple(row["allowed_uses"] or ()), tuple(row["prohibited_uses"] or ()), row["usage_reason"] or "", row["data_classification"] or "",
    )
    return PreApproved(
        row["id"], row["item_ref"], row["label_type"] or "", row["canonical_label_id"] or "", row["status"], constraints,
        row["last_modified_by"] or "", row["last_modified_at"],
    )


class ReuseReport:
    def __init__(self, workbench: Workbench) -> None:
        engine = workbench.backend.engine
        self._pairs = QaPairsStore(engine, workbench.table("qa_pairs"))
        self._training_sheets = TrainingSheetsStore(engine, workbench.table("training_sheets"), workbench.table("qa_pairs"))
        self._labels = workbench.table("canonical_labels")

    def pre_approved(self, training_sheet_id: str, n: int = LISTED) -> list[PreApproved]:
        """Exactly which pairs were pre-approved from canonical labels (the first n, in order)."""
        return [_pre_approved(r) for r in self._pairs.pre_approved(training_sheet_id, self._labels, n)]

    def summary(self, training_sheet_id: str, n: int = LISTED) -> ReuseSummary:
        """N of M pre-approved; K of them labeled since the last Training Sheet from this sheet."""
        training_sheet = self._training_sheets.get(training_sheet_id)
        if training_sheet is None:
            raise NotFoundError("That Training Sheet does not exist.")
        previous = self._previous(training_sheet)
        since = previous.created_at if previous is not None else None
        reused, changed = self._pairs.count_pre_approved(training_sheet_id, self._labels, since)
        # Without an earlier Training Sheet every reused label is new to this one.
        recent = [_pre_approved(r) for r in self._pairs.pre_approved(training_sheet_id, self._labels, n, since, newest_first=True)]
        return ReuseSummary(training_sheet, reused, previous, changed, recent)

    def _previous(self, training_sheet: TrainingSheet) -> TrainingSheet | None:
        created = training_sheet.created_at
        if created is None:
            return None
        earlier = [t for t in self._training_sheets.list(training_sheet.sheet_id) if t.id != training_sheet.id and t.created_at and t.created_at < created]
        return max(earlier, key=lambda t: t.created_at or created, default=None)
