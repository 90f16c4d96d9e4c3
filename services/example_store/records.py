"""The example store's records (the PRD's Example Schema) and what its operations report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

# Scores are ratings between 0 and 1 (PRD: quality_score "Human or automated quality rating (0-1)").
MIN_SCORE, MAX_SCORE = 0.0, 1.0


@dataclass(frozen=True)
class ExampleDraft:
    """What a person writes (or a sync derives from a pair); the store adds the rest."""

    input: str
    expected_output: str
    explanation: str = ""
    search_keys: tuple[str, ...] = ()
    function_name: str | None = None
    domain: str | None = None
    quality_score: float | None = None


@dataclass(frozen=True)
class Example:
    example_id: str
    input: str
    expected_output: str
    explanation: str
    search_keys: tuple[str, ...]
    embedding_model: str
    function_name: str | None
    domain: str | None
    quality_score: float | None
    usage_count: int
    effectiveness_score: float | None
    source_qa_pair_id: str | None
    training_sheet_id: str | None
    created_by: str
    created_at: datetime | None
    updated_at: datetime | None

    @property
    def draft(self) -> ExampleDraft:
        return ExampleDraft(self.input, self.expected_output, self.explanation, self.search_keys, self.function_name,
                            self.domain, self.quality_score)


@dataclass(frozen=True)
class ExampleRows:
    """Examples to write, column by column: a sync writes 100,000 at once, and an object per
    example was much of its time. Synced examples name their pair and Training Sheet."""

    example_ids: list[str]
    inputs: list[str]
    expected_outputs: list[str]
    explanations: list[str]
    search_keys: list[tuple[str, ...]]
    function_names: list[str | None]
    domains: list[str | None]
    quality_scores: list[float | None]
    source_qa_pair_ids: list[str | None]
    training_sheet_id: str | None = None

    @classmethod
    def of(cls, ids: list[str], drafts: Sequence[ExampleDraft]) -> ExampleRows:
        """Authored examples: no pair, no Training Sheet."""
        return cls(ids, [d.input for d in drafts], [d.expected_output for d in drafts], [d.explanation for d in drafts],
                   [d.search_keys for d in drafts], [d.function_name for d in drafts], [d.domain for d in drafts],
                   [d.quality_score for d in drafts], [None] * len(drafts))

    def embedded_texts(self) -> list[str]:
        """What retrieval compares a query with: the input, and the search keys that name it."""
        return [text if not keys else "\n".join([text, *keys]) for text, keys in zip(self.inputs, self.search_keys, strict=True)]


@dataclass(frozen=True)
class ExampleFilters:
    """Browse and retrieval filters; empty means no filter."""

    function_names: tuple[str, ...] = ()
    domain: str | None = None
    min_quality: float | None = None
    min_effectiveness: float | None = None

    def admits(self, function_name: str | None, domain: str | None, quality: float | None, effectiveness: float | None) -> bool:
        """What examples_store.filter_sql asks in SQL, for rows already read: a missing value
        passes no filter on it."""
        return (
            (not self.function_names or function_name in self.function_names)
            and (not self.domain or domain == self.domain)
            and (self.min_quality is None or (quality is not None and quality >= self.min_quality))
            and (self.min_effectiveness is None or (effectiveness is not None and effectiveness >= self.min_effectiveness))
        )


@dataclass(frozen=True)
class RemovedExample:
    example_id: str
    source_qa_pair_id: str
    reason: str  # why the pair no longer passes the few-shot gate, in a person's words


@dataclass(frozen=True)
class SyncReport:
    training_sheet_id: str
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: int = 0
    removed: tuple[RemovedExample, ...] = ()
    blocked_reason: str = ""  # set when the whole sheet's source is tagged against few-shot use


@dataclass(frozen=True)
class SearchHit:
    example: Example
    score: float


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1-based, as a person counts the rows of their file
    message: str


@dataclass(frozen=True)
class UploadReport:
    added: tuple[str, ...] = ()
    problems: tuple[RowProblem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ExampleSource:
    """Where a synced example came from: its pair as it is now, for the source preview."""

    qa_pair_id: str
    training_sheet_name: str
    item_ref: str
    status: str
    media_refs: tuple[str, ...]
    usable_now: bool  # the pair passes the few-shot gate now (its source's tags aside)
    why_not: str = ""


@dataclass(frozen=True)
class TrainingSheetChoice:
    id: str
    name: str
    label_type: str
