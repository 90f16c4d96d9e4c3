"""The duplicate signal: near-duplicate prompts within a Training Sheet, and prompts that nearly
repeat an item which already has a canonical label elsewhere, grouped so an expert can resolve a
group at once (keep one, reject the rest: one statement, recorded in `review_events`).

A pair's group depends on every other pair, so when any pair of the sheet changed, the whole
sheet is grouped again; only texts never embedded before reach the embedder (text_embeddings).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from data_access.embeddings import Embedder
from data_access.sql.engine import Row, WriteConflictError
from services.core.domain.review import ReviewAction, ReviewEvent
from services.core.domain.signals import PairSignal, SignalKind, content_hash, last_content, readable_messages
from services.core.errors import StaleWriteError, ValidationError
from services.core.workbench import Workbench
from services.data.text_embeddings import TextEmbeddings
from services.review.near_duplicates import DuplicateEdges, groups_of, similar_pairs
from services.review.pair_signals_store import PairSignalsStore
from services.review.review_events_store import ReviewEventsStore
from services.review.rules import checked_note

# Cosine similarity of two prompts' sentence embeddings at or above which they are shown as
# near-duplicates: the same text with a changed number, a typo or its words reordered scores
# above it with the bundled MiniLM, while different items of one template mostly score below.
# An expert resolves each group, so the bar is high: a group should be one item seen twice.
DUPLICATE_SIMILARITY = 0.95
# Canonically labeled items from other Training Sheets compared with this sheet's prompts: the
# newest this many labels (each a prompt to embed once, then read back from text_embeddings).
MAX_REFERENCE_LABELS = 50_000
# How many members a reason names; the count says how many more there are.
NAMED_MEMBERS = 5


@dataclass(frozen=True)
class GroupMember:
    pair_id: str
    item_ref: str
    status: str


@dataclass(frozen=True)
class ResolvedGroup:
    kept: str
    rejected: int
    left_alone: int  # members already decided by a person (approved, rejected, flagged): untouched
    event_id: str


def prompt_of(messages_json: str | None) -> str:
    """The item's prompt: the last user message (the template's system message and examples are
    the same for every pair, so they would make every pair look alike)."""
    return last_content(readable_messages(messages_json), "user")


def _named(refs: list[str]) -> str:
    shown = ", ".join(refs[:NAMED_MEMBERS])
    return shown + (f" and {len(refs) - NAMED_MEMBERS} more" if len(refs) > NAMED_MEMBERS else "")


class DuplicateSignals:
    def __init__(self, workbench: Workbench, embedder: Embedder | None = None) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._store = PairSignalsStore(self._engine, workbench.table("pair_signals"), workbench.table("qa_pairs"))
        self._events = ReviewEventsStore(self._engine, workbench.table("review_events"))
        self._embedder = embedder

    def refresh(self, training_sheet_id: str) -> int:
        """Groups the sheet again when any pair has no current duplicate signal; returns how many
        pairs were (re)computed (0: every signal was current)."""
        if not self._store.stale_pairs(training_sheet_id, SignalKind.DUPLICATE.value, limit=1):
            return 0
        pairs = self._sheet_pairs(training_sheet_id)
        references = self._reference_labels(training_sheet_id)
        embeddings = TextEmbeddings(self._wb, self._embedder)
        texts = [prompt_of(r["messages"]) for r in pairs] + [prompt_of(r["messages"]) for r in references]
        vectors = embeddings.vectors(texts)
        edges = similar_pairs(vectors, DUPLICATE_SIMILARITY)
        groups = groups_of(len(texts), edges)
        signals = self._signals(training_sheet_id, pairs, references, groups, edges, embeddings.model)
        self._store.replace(SignalKind.DUPLICATE.value, signals)
        return len(signals)

    def _sheet_pairs(self, training_sheet_id: str) -> list[Row]:
        return self._engine.query(
            f"SELECT id, sheet_id, item_ref, messages, row_version FROM {self._wb.table('qa_pairs')} WHERE training_sheet_id = :id ORDER BY ordinal",
            {"id": training_sheet_id},
        )

    def _reference_labels(self, training_sheet_id: str) -> list[Row]:
        """One prompt per canonical label that pairs of other Training Sheets carry."""
        return self._engine.query(
            f"SELECT canonical_label_id, max(sheet_id) AS sheet_id, max(item_ref) AS item_ref, max(messages) AS messages "
            f"FROM {self._wb.table('qa_pairs')} "
            "WHERE training_sheet_id <> :id AND canonical_label_id IS NOT NULL AND status = 'labeled' "
            "GROUP BY canonical_label_id ORDER BY max(updated_at) DESC LIMIT :n",
            {"id": training_sheet_id, "n": MAX_REFERENCE_LABELS},
        )

    def _signals(
        self, training_sheet_id: str, pairs: list[Row], references: list[Row], groups: np.ndarray, edges: DuplicateEdges, model: str,
    ) -> list[PairSignal]:
        now, count = datetime.now(UTC), len(pairs)
        members: dict[int, list[int]] = defaultdict(list)
        for row, group in enumerate(groups.tolist()):
            members[group].append(row)
        best = np.zeros(len(groups), dtype=np.float32)
        np.maximum.at(best, edges.first, edges.similarity)
        np.maximum.at(best, edges.second, edges.similarity)
        signals = []
        for row, pair in enumerate(pairs):
            group = members[int(groups[row])]
            others = [pairs[m]["item_ref"] for m in group if m < count and m != row]
            # The pair's own item labeled elsewhere is the same item, not a duplicate of it.
            labeled = [
                references[m - count]["item_ref"] for m in group
                if m >= count and (references[m - count]["sheet_id"], references[m - count]["item_ref"]) != (pair["sheet_id"], pair["item_ref"])
            ]
            flagged = bool(others or labeled)
            parts = []
            if others:
                parts.append(f"{len(others)} other pair(s) of this sheet ({_named(others)})")
            if labeled:
                parts.append(f"{len(labeled)} item(s) with a canonical label ({_named(labeled)})")
            reason = (
                f"Near-duplicate of {' and of '.join(parts)}; closest similarity {best[row]:.3f}." if flagged
                else f"No other prompt at similarity ≥ {DUPLICATE_SIMILARITY:g}."
            )
            pair_members = [pairs[m]["id"] for m in group if m < count]
            signals.append(PairSignal(
                pair["id"], training_sheet_id, SignalKind.DUPLICATE.value, content_hash(pair["messages"]), flagged, reason,
                {"pairs": pair_members, "labels": [references[m - count]["canonical_label_id"] for m in group if m >= count]} if flagged else {},
                float(best[row]) if flagged else None, f"dup-{min(pair_members)}" if flagged else None, f"embeddings:{model}", now,
                pair["row_version"],
            ))
        return signals

    # -- resolving a group -----------------------------------------------------------
    def group(self, training_sheet_id: str, group_id: str) -> list[GroupMember]:
        """The pairs of a current near-duplicate group, in queue order."""
        return [GroupMember(r["id"], r["item_ref"], r["status"]) for r in self._store.in_group(training_sheet_id, group_id)]

    def resolve(self, training_sheet_id: str, group_id: str, keep_pair_id: str, note: str | None = None) -> ResolvedGroup:
        """Keeps one pair of the group and rejects the others nobody has decided yet, in one
        statement, recorded once in review_events. The kept pair stays as it is, for review."""
        note = checked_note(note)
        group = {m.pair_id: m.item_ref for m in self.group(training_sheet_id, group_id)}
        members = list(group)
        if keep_pair_id not in members:
            raise ValidationError("The pair to keep is not in this near-duplicate group (the group may have changed); nothing was rejected.")
        rest = [m for m in members if m != keep_pair_id]
        now, user, event_id = datetime.now(UTC), self._wb.user.email, str(uuid.uuid4())
        try:
            with self._engine.transaction():
                rejected = self._engine.execute(
                    f"UPDATE {self._wb.table('qa_pairs')} SET status = 'rejected', reviewed_by = :user, reviewed_at = :at, "
                    "review_notes = :note, updated_at = :at, row_version = row_version + 1 WHERE training_sheet_id = :training_sheet_id "
                    "AND id IN (SELECT explode(:ids)) AND status = 'unlabeled'",
                    {"user": user, "at": now, "note": note or f"Near-duplicate of {group[keep_pair_id]}, kept", "training_sheet_id": training_sheet_id, "ids": rest},
                )
                self._events.add(ReviewEvent(
                    event_id, training_sheet_id, None, str(ReviewAction.RESOLVE_DUPLICATES), user, now, "rejected", note,
                    json.dumps({"duplicate_group": group_id, "kept": keep_pair_id, "rejected_from": rest}), rejected,
                ))
        except WriteConflictError as error:
            raise StaleWriteError("Another reviewer changed pairs of this group meanwhile; nothing was rejected. Try again.") from error
        return ResolvedGroup(keep_pair_id, rejected, len(rest) - rejected, event_id)
