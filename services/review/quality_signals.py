"""The quality signal of a pair, with its reasons: does the response parse against the template's
output schema, and does it agree with the canonical labels of the most similar items (by the
stored embeddings of their prompts)? The score is the mean of the checks that could run.

`qa_pairs.quality_score` takes the score only where nobody else set it: the DSPy optimizer
writes that column too (its metric), and its value is left as it is; the card says whose
score the column holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from data_access.embeddings import Embedder
from data_access.llm.chat import ChatModel
from data_access.sql.engine import Row
from services.core.domain.signals import PairSignal, SignalKind, content_hash, last_content, readable_messages
from services.core.errors import ValidationError
from services.core.workbench import Workbench
from services.data.text_embeddings import TextEmbeddings
from services.review.duplicate_signals import prompt_of
from services.review.pair_signals_store import CURRENT, PairSignalsStore
from services.review.quality_judge import Verdict, configured_judge, verdicts
from services.review.rules import label_data_for, template_of

SOURCE = "label_checks"
# Labeled neighbours a response is compared with, and how similar a neighbour's prompt must be
# to count: below 0.8 the bundled MiniLM pairs texts about different things, whose labels say
# nothing about this one.
NEIGHBOURS = 3
MIN_NEIGHBOUR_SIMILARITY = 0.8
# Pairs scored against the labeled items per matrix product: (chunk × labeled items) floats.
SCORE_CHUNK = 2_048
# A score below this is shown as a quality concern (the queue filter): a response that fails
# the schema, or that most of its labeled neighbours disagree with.
CONCERN_BELOW = 0.5
NOT_AVAILABLE = "A judge's verdict and toxicity are not available: no model is configured for them."


@dataclass(frozen=True)
class _Labeled:
    item_ref: str
    data: Any


def _response(messages_json: str | None) -> str:
    return last_content(readable_messages(messages_json), "assistant")


def _parsed(messages_json: str | None, template: Any) -> tuple[Any, str | None]:
    try:
        return label_data_for(_response(messages_json), template), None
    except ValidationError as error:
        return None, str(error)


class QualitySignals:
    def __init__(self, workbench: Workbench, embedder: Embedder | None = None, judge: ChatModel | None = None) -> None:
        """`judge`: the model that judges each response (default: the configured one, if any)."""
        self._wb = workbench
        self._judge = judge or configured_judge(workbench.settings, workbench.user)
        self._engine = workbench.backend.engine
        self._store = PairSignalsStore(self._engine, workbench.table("pair_signals"), workbench.table("qa_pairs"))
        self._embedder = embedder

    @property
    def judged(self) -> bool:
        """A model judges each response (one request per pair)."""
        return self._judge is not None

    def refresh(self, training_sheet_id: str) -> int:
        """Scores the pairs of the sheet whose quality signal is missing or stale."""
        stale = self._stale(training_sheet_id)
        if not stale:
            return 0
        template = template_of(self._wb, training_sheet_id)
        labeled = self._labeled(template.label_type)
        embeddings = TextEmbeddings(self._wb, self._embedder)
        neighbours = self._neighbours(embeddings, [prompt_of(r["messages"]) for r in stale], labeled)
        judged = self._verdicts(stale)
        now = datetime.now(UTC)
        signals = []
        for row, near in zip(stale, neighbours, strict=True):
            near = [(labeled[i], s) for i, s in near if labeled[i][0].item_ref != row["item_ref"]]
            signals.append(self._signal(training_sheet_id, row, template, near, judged.get(row["id"]), embeddings.model, now))
        self._store.replace(SignalKind.QUALITY.value, signals)
        owned = [(r["id"], s.score) for r, s in zip(stale, signals, strict=True) if s.score is not None and _column_is_ours(r)]
        if owned:
            self._engine.execute(
                f"MERGE INTO {self._wb.table('qa_pairs')} AS t USING (SELECT col AS pair_id, element_at(:scores, pos + 1) AS score "
                "FROM (SELECT posexplode(:pair_ids)) AS exploded) AS s ON t.id = s.pair_id WHEN MATCHED THEN UPDATE SET quality_score = s.score",
                {"pair_ids": [p for p, _ in owned], "scores": [s for _, s in owned]},
            )
        return len(signals)

    def _verdicts(self, stale: list[Row]) -> dict[str, Verdict]:
        if self._judge is None:
            return {}
        answered = [(r["id"], prompt_of(r["messages"]), _response(r["messages"])) for r in stale]
        return verdicts(self._judge, [a for a in answered if a[2].strip()])

    def _stale(self, training_sheet_id: str) -> list[Row]:
        """Stale pairs with the column's value and the score this check last wrote (to tell whose it is)."""
        signals, pairs = self._store.table, self._wb.table("qa_pairs")
        return self._engine.query(
            f"SELECT p.id, p.item_ref, p.messages, p.row_version, p.quality_score, s.score AS previous_score "
            f"FROM {pairs} AS p LEFT JOIN {signals} AS s ON s.pair_id = p.id AND s.kind = 'quality' "
            "WHERE p.training_sheet_id = :training_sheet_id AND (s.content_hash IS NULL "
            f"OR NOT {CURRENT.format(s='s', p='p.')}) ORDER BY p.ordinal",
            {"training_sheet_id": training_sheet_id},
        )

    def _labeled(self, label_type: str) -> list[tuple[_Labeled, str]]:
        """Items with a canonical label of this label type, each with a prompt a pair gave it."""
        rows = self._engine.query(
            f"SELECT l.item_ref, l.label_data, max(p.messages) AS messages FROM {self._wb.table('canonical_labels')} AS l "
            f"JOIN {self._wb.table('qa_pairs')} AS p ON p.canonical_label_id = l.id WHERE l.label_type = :label_type "
            "GROUP BY l.id, l.item_ref, l.label_data",
            {"label_type": label_type},
        )
        return [(_Labeled(r["item_ref"], json.loads(r["label_data"]) if r["label_data"] else None), prompt_of(r["messages"])) for r in rows]

    def _neighbours(self, embeddings: TextEmbeddings, prompts: list[str], labeled: list[tuple[_Labeled, str]]) -> list[list[tuple[int, float]]]:
        """For each prompt, its most similar labeled items (index, similarity), best first, at or
        above MIN_NEIGHBOUR_SIMILARITY; one more than NEIGHBOURS, as the pair's own item may be one."""
        if not labeled:
            return [[] for _ in prompts]
        vectors = embeddings.vectors(prompts)
        references = embeddings.vectors([p for _, p in labeled])
        found: list[list[tuple[int, float]]] = []
        keep = min(NEIGHBOURS + 1, len(labeled))
        for start in range(0, len(prompts), SCORE_CHUNK):
            scores = vectors[start : start + SCORE_CHUNK] @ references.T
            best = np.argsort(-scores, axis=1, kind="stable")[:, :keep]
            for row, columns in enumerate(best):
                found.append([(int(c), float(scores[row, c])) for c in columns if scores[row, c] >= MIN_NEIGHBOUR_SIMILARITY])
        return found

    def _signal(
        self, training_sheet_id: str, row: Row, template: Any, near: list[tuple[tuple[_Labeled, str], float]], verdict: Verdict | None,
        model: str, now: datetime,
    ) -> PairSignal:
        if not _response(row["messages"]).strip():  # no draft yet: nothing to score, nothing to worry about
            return PairSignal(
                row["id"], training_sheet_id, SignalKind.QUALITY.value, content_hash(row["messages"]), False,
                "No response yet: nothing to score.", {"reasons": ["No response yet: nothing to score."]}, None, None, f"{SOURCE} ({model})", now,
                row["row_version"],
            )
        data, problem = _parsed(row["messages"], template)
        checks = {"schema": 0.0 if problem else 1.0}
        reasons = [f"The response does not parse against the output schema: {problem}" if problem else "The response parses against the output schema."]
        near = near[:NEIGHBOURS]
        if near and data is not None:
            agreeing = [item.item_ref for (item, _), _ in near if item.data == data]
            checks["agreement"] = len(agreeing) / len(near)
            named = ", ".join(f"{item.item_ref} ({s:.2f})" for (item, _), s in near)
            reasons.append(f"Agrees with {len(agreeing)} of the {len(near)} most similar labeled items: {named}.")
        elif data is not None:
            reasons.append(f"No labeled item is similar enough (≥ {MIN_NEIGHBOUR_SIMILARITY:g}) to compare with.")
        toxic = False
        if verdict is None:
            reasons.append(NOT_AVAILABLE if self._judge is None else "The judge gave no verdict.")
        else:
            if verdict.correct is not None:
                checks["judge"] = 1.0 if verdict.correct else 0.0
            toxic = bool(verdict.toxic)
            said = "correct" if verdict.correct else "not correct" if verdict.correct is False else "no verdict"
            tone = "; toxic" if verdict.toxic else "; not toxic" if verdict.toxic is False else ""
            reasons.append(f"Judge: {said}{tone}. {verdict.reason}".strip())
        score = round(sum(checks.values()) / len(checks), 4)
        return PairSignal(
            row["id"], training_sheet_id, SignalKind.QUALITY.value, content_hash(row["messages"]), score < CONCERN_BELOW or toxic,
            " ".join(reasons), {"checks": checks, "reasons": reasons}, score, None, f"{SOURCE} ({model})", now, row["row_version"],
        )


def _column_is_ours(row: Row) -> bool:
    """qa_pairs.quality_score is empty, or holds the score this check wrote last time."""
    column, previous = row["quality_score"], row["previous_score"]
    return column is None or (previous is not None and abs(float(column) - float(previous)) < 1e-9)
