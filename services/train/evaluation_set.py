"""The evaluation set of a run: pairs that pass the evaluation gate and were not trained on.

The dual gate decides (`usable_for_sql` with :use = 'evaluation'): an approved pair whose
governance allows evaluation. Pairs in the run's training or validation split are left out, so
the scores say how the model does on what it has not seen. When more qualify than wanted, a
seeded hash picks a spread across the Training Sheets rather than the first rows of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.core.domain.governance import Use
from services.core.domain.qa_pair import messages_from_json
from services.core.domain.template import SchemaField
from services.core.governance import usable_for_sql
from services.core.workbench import Workbench
from services.templates.prompt_templates import TemplateService
from services.train.evaluation import EvaluationItem
from services.train.records import EvaluationSource


@dataclass(frozen=True)
class EvaluationPair:
    pair_id: str
    prompt: tuple[dict[str, str], ...]
    expected: str
    schema: tuple[SchemaField, ...]

    @property
    def item(self) -> EvaluationItem:
        return EvaluationItem(self.pair_id, self.expected, self.schema)

    def jsonl_line(self) -> str:
        return json.dumps({"messages": [*self.prompt, {"role": "assistant", "content": self.expected}]}, ensure_ascii=False)


def evaluation_pairs(workbench: Workbench, run_id: str, source: EvaluationSource) -> list[EvaluationPair]:
    if source.max_pairs <= 0 or not source.training_sheet_ids:
        return []
    rows = workbench.backend.engine.query(
        f"SELECT q.id, q.messages, ts.template_id FROM {workbench.table('qa_pairs')} q "
        f"JOIN {workbench.table('training_sheets')} ts ON ts.id = q.training_sheet_id "
        f"WHERE array_contains(:training_sheet_ids, q.training_sheet_id) AND {usable_for_sql('q')} "
        f"AND q.id NOT IN (SELECT explode(qa_pair_ids) FROM {workbench.table('model_training_lineage')} WHERE id = :run_id) "
        "ORDER BY md5(concat(:seed, q.id)) LIMIT :limit",
        {"training_sheet_ids": list(source.training_sheet_ids), "use": Use.EVALUATION.value, "run_id": run_id,
         "seed": str(source.seed), "limit": source.max_pairs},
    )
    templates = TemplateService(workbench)
    found = {t: templates.find(t) for t in {r["template_id"] for r in rows}}
    schemas = {t: template.output_schema if template else () for t, template in found.items()}
    pairs = []
    for row in rows:
        messages = messages_from_json(row["messages"])
        if not messages or messages[-1].role != "assistant" or not messages[-1].content.strip():
            continue  # an approved pair without an answer has nothing to score against
        prompt = tuple({"role": m.role, "content": m.content} for m in messages[:-1])
        pairs.append(EvaluationPair(row["id"], prompt, messages[-1].content, schemas[row["template_id"]]))
    return pairs
