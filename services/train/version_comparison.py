"""Version n beside version n+1 of a model, on the same evaluation pairs.

Each run evaluates its fine-tuned model on held-out pairs of its Training Sheets and records
every answer (`model_evaluations.answers`). Two versions are compared on the pairs both runs
evaluated, each version's recorded answers scored again on exactly those pairs by TRAIN's own
scoring (services/train/evaluation.py): the same set, so the change is the models', not the set's.
No model is run here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.core.domain.template import SchemaField
from services.core.errors import NotFoundError
from services.core.workbench import Workbench
from services.generate.generation import GenerationService
from services.templates.prompt_templates import TemplateService
from services.train.evaluation import AnswerScore, EvaluationItem, ModelScore, score_answers


@dataclass(frozen=True)
class EvaluatedVersion:
    model_name: str
    model_version: str
    lineage_id: str
    answers: dict[str, AnswerScore]  # by pair id, as its run recorded them


@dataclass(frozen=True)
class PairAnswers:
    pair_id: str
    expected: str
    previous: str
    current: str
    previous_correct: bool
    current_correct: bool


@dataclass(frozen=True)
class SamePairsComparison:
    """Version `previous` and version `current` scored on the evaluation pairs both answered."""

    model_name: str
    previous_version: str
    current_version: str
    previous: ModelScore | None  # None when the two runs share no evaluation pair
    current: ModelScore | None
    pairs: tuple[PairAnswers, ...]

    @property
    def pair_count(self) -> int:
        return len(self.pairs)

    @property
    def summary(self) -> str:
        if self.previous is None or self.current is None:
            return (f"v{self.previous_version} and v{self.current_version} share no evaluation pair: "
                    "their scores are on different held-out sets and cannot be compared.")
        return (f"On the same {self.pair_count} held-out pairs: accuracy v{self.previous_version} {self.previous.accuracy:.0%} → "
                f"v{self.current_version} {self.current.accuracy:.0%}, F1 {self.previous.f1_score:.2f} → {self.current.f1_score:.2f}.")


class VersionComparisonService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine

    def previous_version(self, model_name: str, model_version: str) -> str | None:
        """The version of the same model registered just before this one, if any."""
        row = self._engine.query_one(
            f"SELECT prev.model_version FROM {self._wb.table('model_training_lineage')} cur "
            f"JOIN {self._wb.table('model_training_lineage')} prev ON prev.model_name = cur.model_name "
            "AND prev.model_id IS NOT NULL AND prev.trained_at < cur.trained_at "
            "WHERE cur.model_name = :model_name AND cur.model_version = :model_version "
            "ORDER BY prev.trained_at DESC LIMIT 1",
            {"model_name": model_name, "model_version": model_version},
        )
        return row["model_version"] if row else None

    def compare(self, model_name: str, previous_version: str, current_version: str) -> SamePairsComparison | None:
        """None when either version has no recorded evaluation."""
        versions = self._evaluated(model_name, [previous_version, current_version])
        if previous_version not in versions or current_version not in versions:
            return None
        previous, current = versions[previous_version], versions[current_version]
        shared = [pair_id for pair_id in current.answers if pair_id in previous.answers]
        if not shared:
            return SamePairsComparison(model_name, previous_version, current_version, None, None, ())
        schema = self._schema(current.lineage_id)
        items = [EvaluationItem(p, current.answers[p].expected, schema) for p in shared]
        scored = {
            v.model_version: score_answers(f"v{v.model_version}", items, [v.answers[p].answer for p in shared])
            for v in (previous, current)
        }
        pairs = tuple(
            PairAnswers(p, current.answers[p].expected, previous.answers[p].answer, current.answers[p].answer, a.correct, b.correct)
            for p, a, b in zip(shared, scored[previous_version].answers, scored[current_version].answers, strict=True)
        )
        return SamePairsComparison(model_name, previous_version, current_version, scored[previous_version], scored[current_version], pairs)

    def _evaluated(self, model_name: str, model_versions: list[str]) -> dict[str, EvaluatedVersion]:
        rows = self._engine.query(
            f"SELECT mtl.id, mtl.model_version, e.answers FROM {self._wb.table('model_training_lineage')} mtl "
            f"JOIN {self._wb.table('model_evaluations')} e ON e.lineage_id = mtl.id AND e.evaluated_model = 'fine_tuned' "
            "WHERE mtl.model_name = :model_name AND array_contains(:model_versions, mtl.model_version)",
            {"model_name": model_name, "model_versions": model_versions},
        )
        return {
            r["model_version"]: EvaluatedVersion(
                model_name, r["model_version"], r["id"], {a["pair_id"]: AnswerScore(**a) for a in json.loads(r["answers"] or "[]")}
            )
            for r in rows
        }

    def _schema(self, lineage_id: str) -> tuple[SchemaField, ...]:
        """The output schema of the run's first Training Sheet's template (how its answers are read)."""
        row = self._engine.query_one(
            f"SELECT training_sheet_id FROM {self._wb.table('model_training_lineage')} WHERE id = :id", {"id": lineage_id}
        )
        if row is None:
            return ()
        try:
            sheet = GenerationService(self._wb).get(row["training_sheet_id"])
        except NotFoundError:  # its Training Sheet deleted since: the answers are read as text
            return ()
        template = TemplateService(self._wb).find(sheet.template_id)
        return template.output_schema if template else ()
