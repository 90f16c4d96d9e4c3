"""LABEL signals beside each pair (PII, duplicates, quality): computed for the pairs whose
messages changed since, stored with their reasons, shown on the card and filtered on in the
queue. A signal never decides: a PII finding proposes tightening the pair's governance, which
happens only when a person confirms it, through the audited constraint edit."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from data_access.embeddings import Embedder
from data_access.sql.engine import WriteConflictError
from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import QaPair
from services.core.domain.signals import PairSignal, SignalKind
from services.core.errors import ValidationError
from services.core.governance import governance_changed, most_restrictive, personal_data_rule
from services.core.workbench import Workbench
from services.review.actions import ReviewService
from services.review.duplicate_signals import DuplicateSignals, GroupMember, ResolvedGroup
from services.review.pair_signals_store import PairSignalsStore
from services.review.pii_signals import AI_MASK_LABELS, AI_MASK_SOURCE, pii_signal, warehouse_pii_merge
from services.review.quality_signals import QualitySignals

# Pairs whose signals the LABEL page computes on queue load before showing it: a few seconds
# (the PII rules scan ~5,000 pairs/s; new prompts are embedded by the CPU model at ~100-200/s).
# A larger backlog (a new 100,000-pair sheet) waits for a person to ask for it.
INLINE_REFRESH_LIMIT = 500
# With a judge configured each pair is one model request (about a second each, 8 at a time): the
# page waits for a few of them only.
INLINE_JUDGED_LIMIT = 20


@dataclass(frozen=True)
class RefreshStep:
    """One kind of signal brought up to date; `run` returns how many pairs it (re)computed."""

    kind: str
    run: Callable[[], int]


class PairSignals:
    def __init__(self, workbench: Workbench, embedder: Embedder | None = None) -> None:
        self._wb = workbench
        self._duplicates = DuplicateSignals(workbench, embedder)  # opens the embedder only when it must embed
        self._quality = QualitySignals(workbench, embedder)
        self._store = PairSignalsStore(workbench.backend.engine, workbench.table("pair_signals"), workbench.table("qa_pairs"))

    # -- computing -------------------------------------------------------------------
    def refresh(self, training_sheet_id: str) -> int:
        """Computes the signals of every pair of the sheet whose messages changed since they were
        last computed, or never were; returns how many were (re)computed."""
        return max(step.run() for step in self.refresh_steps(training_sheet_id))

    def refresh_steps(self, training_sheet_id: str) -> tuple[RefreshStep, ...]:
        """`refresh` one kind at a time, in order, for a job that reports and can stop between them."""
        return (
            RefreshStep("personal data", lambda: self.refresh_pii(training_sheet_id)),
            # before quality: it embeds the prompts quality reads
            RefreshStep("near-duplicates", lambda: self._duplicates.refresh(training_sheet_id)),
            RefreshStep("quality", lambda: self._quality.refresh(training_sheet_id)),
        )

    def stale_count(self, training_sheet_id: str) -> int:
        """Pairs of the sheet missing a current signal of some kind (what `refresh` would compute)."""
        return self._store.stale_count(training_sheet_id, [k.value for k in SignalKind])

    def refresh_if_small(self, training_sheet_id: str) -> int:
        """`refresh` when at most INLINE_REFRESH_LIMIT pairs need it; otherwise how many do (the
        page offers to compute them), so a large sheet's queue opens at once."""
        stale = self.stale_count(training_sheet_id)
        if 0 < stale <= (INLINE_JUDGED_LIMIT if self._quality.judged else INLINE_REFRESH_LIMIT):
            self.refresh(training_sheet_id)
            return 0
        return stale

    def refresh_pii(self, training_sheet_id: str, pair_id: str | None = None) -> int:
        now = datetime.now(UTC)
        if self._wb.settings.is_databricks:
            return self._store.execute(
                warehouse_pii_merge(self._store.table, self._wb.table("qa_pairs"), one_pair=pair_id is not None),
                {
                    "training_sheet_id": training_sheet_id, "labels": list(AI_MASK_LABELS), "source": AI_MASK_SOURCE, "now": now,
                    **({"pair_id": pair_id} if pair_id else {}),
                },
            )
        stale = self._store.stale_pairs(training_sheet_id, SignalKind.PII.value, pair_id)
        signals = [pii_signal(row["id"], training_sheet_id, row["messages"], now, row["row_version"]) for row in stale]
        self._store.replace(SignalKind.PII.value, signals)
        return len(signals)

    # -- reading ---------------------------------------------------------------------
    def for_pair(self, pair: QaPair) -> list[PairSignal]:
        """The pair's signals computed for its messages as they are now: its PII signal recomputed
        first when stale (one pair's scan); duplicates and quality, which read the whole sheet or
        its labeled neighbours, wait for the next queue load."""
        signals = self._store.for_pair(pair.id)
        if not any(s.kind == SignalKind.PII and current for s, current in signals):
            with suppress(WriteConflictError):  # a sheet's scan is writing it now; it shows on the next look
                self.refresh_pii(pair.training_sheet_id, pair.id)
            signals = self._store.for_pair(pair.id)
        return [signal for signal, is_current in signals if is_current]

    def flagged_counts(self, training_sheet_id: str) -> dict[str, int]:
        return self._store.flagged_counts(training_sheet_id)

    # -- resolving a near-duplicate group -----------------------------------------------
    def duplicate_group(self, training_sheet_id: str, group_id: str) -> list[GroupMember]:
        return self._duplicates.group(training_sheet_id, group_id)

    def resolve_duplicates(self, training_sheet_id: str, group_id: str, keep_pair_id: str, note: str | None = None) -> ResolvedGroup:
        return self._duplicates.resolve(training_sheet_id, group_id, keep_pair_id, note)

    # -- what a PII finding proposes -------------------------------------------------
    def proposed_governance(self, pair: QaPair, signal: PairSignal) -> UsageConstraints | None:
        """The pair's constraints tightened as personal data requires (no training or validation,
        restricted), or None when they already are at least that tight. Only ever tighter."""
        if signal.kind != SignalKind.PII or not signal.flagged:
            return None
        reason = f"PII signal: {signal.reason}"
        proposed = most_restrictive(pair.constraints, personal_data_rule(reason), reason=reason)
        return proposed if governance_changed(pair.constraints, proposed) else None

    def tighten_for_pii(self, pair: QaPair, read_version: int) -> QaPair:
        """The one click: the proposed governance, through the audited constraint edit."""
        signal = next((s for s in self.for_pair(pair) if s.kind == SignalKind.PII), None)
        proposed = self.proposed_governance(pair, signal) if signal is not None else None
        if proposed is None:
            raise ValidationError("This pair has no current PII finding whose governance is not already tight enough; nothing was changed.")
        return ReviewService(self._wb).change_constraints(pair, read_version, proposed)
