"""Canonical labels: label once, reuse everywhere.

One label per (sheet, item, label type) (invariant 1). Every change carries the version
its author read; a stale change is refused naming who made the newer one (invariant 7),
and every applied change becomes a new version in the history, so a label can be shown
as of any version and rolled back (a rollback is itself a new version).
"""

from __future__ import annotations

import difflib
import json
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from data_access.sql.engine import WriteConflictError
from services.core.domain.canonical_label import (
    CanonicalLabel,
    ChangeKind,
    Confidence,
    LabelAuthor,
    LabelContent,
    LabelKey,
    LabelVersion,
    ReusableLabel,
    response_from_label_json,
)
from services.core.domain.governance import UsageConstraints
from services.core.errors import NotFoundError, StaleWriteError, ValidationError
from services.core.governance import checked_constraints
from services.core.workbench import Workbench
from services.labels.canonical_labels_store import CanonicalLabelsStore

# Writes to one key are serialised inside a process (the embedded store is one process);
# across processes the version check in the MERGE does the same job.
_KEY_LOCK_STRIPES = 64
_key_locks = [threading.Lock() for _ in range(_KEY_LOCK_STRIPES)]


def _lock_for(key: LabelKey) -> threading.Lock:
    return _key_locks[hash(key) % _KEY_LOCK_STRIPES]


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class LabelingProgress:
    labeled: int
    total: int

    @property
    def fraction(self) -> float:
        return self.labeled / self.total if self.total else 0.0


class CanonicalLabelService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._store = CanonicalLabelsStore(
            workbench.backend.engine, workbench.table("canonical_labels"), workbench.table("canonical_label_versions")
        )

    # -- writing ---------------------------------------------------------------------
    def save(
        self,
        key: LabelKey,
        content: LabelContent,
        read_version: int,
        change_kind: ChangeKind = ChangeKind.EDIT,
        source_qa_pair_id: str | None = None,
        current: CanonicalLabel | None = None,
    ) -> CanonicalLabel:
        """Create (read_version=0) or change a label; raises StaleWriteError if someone else won.

        `current` is the label as the caller read it (at read_version): with it, the saved label
        is returned without reading it back, which a reviewer's every approval would pay for.
        """
        content = _checked(content)
        kind = ChangeKind.CREATE if read_version == 0 and change_kind == ChangeKind.EDIT else change_kind
        user = self._wb.user.email
        engine = self._wb.backend.engine
        with _lock_for(key):
            try:
                with engine.transaction():
                    applied = self._store.write(key, content, read_version, user)
                    if applied:
                        self._store.add_version(key, read_version + 1, content, kind, user, source_qa_pair_id)
            except WriteConflictError as error:
                raise self._stale(key, read_version) from error
        if not applied:
            raise self._stale(key, read_version)
        if read_version == 0 or (current is not None and current.version == read_version):
            return self._as_saved(key, content, read_version + 1, current)
        return self.get(key.label_id)

    def _as_saved(self, key: LabelKey, content: LabelContent, version: int, before: CanonicalLabel | None) -> CanonicalLabel:
        now, user = datetime.now(UTC), self._wb.user.email
        labeled_by, labeled_at = (before.labeled_by, before.labeled_at) if before else (user, now)
        return CanonicalLabel(key.label_id, key, content, version, labeled_by, labeled_at, user, now)

    def _stale(self, key: LabelKey, read_version: int) -> StaleWriteError:
        current = self._store.get(key.label_id)
        if current is None:
            return StaleWriteError("This label was removed while you were editing it; nothing was saved.")
        if read_version == 0:
            return StaleWriteError(
                f"{current.last_modified_by} labeled {key.item_ref} ({key.label_type}) while you were working "
                f"(version {current.version}). Review their label; yours was not saved."
            )
        return StaleWriteError(
            f"{current.last_modified_by} changed this {key.label_type} label after you opened it "
            f"(now version {current.version}). Reload to see their change; yours was not saved."
        )

    def rollback(self, label_id: str, to_version: int, read_version: int) -> CanonicalLabel:
        label = self.get(label_id)
        target = next((v for v in self.history(label_id) if v.version == to_version), None)
        if target is None:
            raise NotFoundError(f"Version {to_version} of this label does not exist.")
        return self.save(label.key, target.content, read_version, ChangeKind.ROLLBACK, current=label)

    # -- reading ---------------------------------------------------------------------
    def get(self, label_id: str) -> CanonicalLabel:
        label = self._store.get(label_id)
        if label is None:
            raise NotFoundError("That canonical label does not exist.")
        return label

    def find(self, key: LabelKey) -> CanonicalLabel | None:
        return self._store.get(key.label_id)

    def authors(self, label_ids: list[str]) -> dict[str, LabelAuthor]:
        """label id → who last changed that label and when, in one query."""
        return {a.label_id: a for a in self._store.authors(label_ids)}

    def for_item(self, sheet_id: str, item_ref: str) -> list[CanonicalLabel]:
        """Every labelset of one item, one per label type."""
        return self._store.for_item(sheet_id, item_ref)

    def for_sheet(self, sheet_id: str, label_type: str) -> dict[str, CanonicalLabel]:
        """item_ref → label of one label type, in one query: how generation finds what to reuse."""
        return {label.key.item_ref: label for label in self._store.for_sheet(sheet_id, label_type)}

    def reusable(self, sheet_id: str, label_type: str) -> dict[str, ReusableLabel]:
        """item_ref → what a pair reuses, in one query: how generation finds pre-approved items."""
        labels, sets = self._store.reusable(sheet_id, label_type)
        constraints = {
            row["constraint_set"]: UsageConstraints(
                tuple(row["allowed_uses"] or ()), tuple(row["prohibited_uses"] or ()), row["usage_reason"] or "",
                row["data_classification"] or "internal",
            )
            for row in sets
        }
        return {
            row["item_ref"]: ReusableLabel(row["id"], response_from_label_json(row["label_data"] or "{}"), constraints[row["constraint_set"]])
            for row in labels
        }

    def labeled_refs(self, sheet_id: str, label_type: str) -> set[str]:
        return self._store.labeled_refs(sheet_id, label_type)

    def label_types(self, sheet_id: str) -> dict[str, int]:
        return self._store.label_types(sheet_id)

    def count(self, sheet_id: str | None = None, label_type: str | None = None) -> int:
        return self._store.count(sheet_id, label_type)

    def progress(self, sheet_id: str, label_type: str, total_items: int) -> LabelingProgress:
        return LabelingProgress(self._store.count(sheet_id, label_type), total_items)

    def history(self, label_id: str) -> list[LabelVersion]:
        return self._store.versions(label_id)

    def as_of(self, label_id: str, version: int) -> LabelVersion:
        found = next((v for v in self.history(label_id) if v.version == version), None)
        if found is None:
            raise NotFoundError(f"Version {version} of this label does not exist.")
        return found


def diff_versions(before: LabelVersion, after: LabelVersion) -> list[FieldChange]:
    """What changed between two versions, field by field (label fields first)."""
    old, new = _flatten(before.content), _flatten(after.content)
    return [FieldChange(name, old.get(name, ""), new.get(name, "")) for name in dict.fromkeys([*old, *new]) if old.get(name, "") != new.get(name, "")]


def diff_text(before: str, after: str) -> str:
    return "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", lineterm=""))


def _flatten(content: LabelContent) -> dict[str, str]:
    fields = {f"label.{k}": v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in content.label_data.items()}
    c = content.constraints
    return {
        **fields,
        "confidence": content.confidence,
        "notes": content.notes,
        "allowed_uses": ", ".join(c.allowed_uses),
        "prohibited_uses": ", ".join(c.prohibited_uses),
        "usage_reason": c.usage_reason,
        "data_classification": str(c.data_classification),
    }


def _checked(content: LabelContent) -> LabelContent:
    if not isinstance(content.label_data, dict) or not content.label_data:
        raise ValidationError("A label needs at least one value.")
    if content.confidence not in {c.value for c in Confidence}:
        raise ValidationError("Confidence must be high, medium or low.")
    return replace(content, notes=content.notes.strip(), constraints=checked_constraints(content.constraints, reason_required=False))
